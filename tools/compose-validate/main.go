// compose-validate checks a compose file the way `docker compose config --quiet` does, without
// Docker: it runs the Compose Specification's own loader (compose-go, the library Docker Compose
// v2 is built on), so the tests can hold docker-compose.yml to what Docker will accept on a
// machine that has no Docker daemon and no Compose plugin.
//
//	compose-validate -f docker-compose.yml [-env-file FILE]
//
// Exit 0 with a one-line summary on stdout, or the loader's error on stderr and exit 1 (2: bad usage).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/loader"
)

func main() {
	file := flag.String("f", "", "compose file to validate (required)")
	envFile := flag.String("env-file", "", "file of variables for interpolation (default: .env next to the file, as docker compose)")
	flag.Parse()
	if *file == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: compose-validate -f FILE [-env-file FILE]")
		os.Exit(2)
	}

	var envFiles []string
	if *envFile != "" {
		envFiles = append(envFiles, *envFile)
	}
	// The same option order as Docker Compose's own loading, so variables resolve with the same
	// precedence: the process environment wins over the env file (and COMPOSE_DISABLE_ENV_FILE
	// turns the default .env off).
	options, err := cli.NewProjectOptions([]string{*file},
		cli.WithOsEnv,
		cli.WithEnvFiles(envFiles...),
		cli.WithDotEnv,
		// Every profile: a service behind a profile must be valid too, even if nobody enables it.
		cli.WithProfiles([]string{"*"}),
		// Relative paths become absolute, as Docker sees them; the loader does not require bind
		// sources to exist (ours include password files generated at install time).
		cli.WithResolvedPaths(true),
		// Explicit, though they are the defaults: the JSON schema of the Compose Specification,
		// ${VAR:?message} interpolation, and the cross-checks (depends_on, named volumes, ...) are
		// the point of this program.
		cli.WithInterpolation(true),
		cli.WithConsistency(true),
		cli.WithLoadOptions(func(o *loader.Options) { o.SkipValidation = false }),
	)
	if err == nil {
		project, loadErr := options.LoadProject(context.Background())
		if loadErr == nil {
			fmt.Printf("%s: valid, %d services, %d volumes\n", filepath.Base(*file), len(project.Services), len(project.Volumes))
			return
		}
		err = loadErr
	}
	// Most loader errors name the file already (`validating /abs/path: ...`); the others get it.
	msg := err.Error()
	if !strings.Contains(msg, filepath.Base(*file)) {
		msg = *file + ": " + msg
	}
	fmt.Fprintln(os.Stderr, msg)
	os.Exit(1)
}
