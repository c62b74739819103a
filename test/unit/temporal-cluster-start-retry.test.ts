import { startWorthRetrying } from '../../stack/temporal-cluster-start-retry';

// Lines as a fresh-clone CI run logged them when two of four separate services wrote the
// cluster's first metadata record at once (the loser exited and failed the chaos run).
const metadataRace =
  '{"level":"error","msg":"Operation failed with internal error.","component":"metadata-initializer",' +
  '"error":"SaveClusterMetadata encountered version mismatch, expected 0 but got 1.","error-type":"serviceerror.Unavailable"}';
// The same race, lost the other way (the conditional write not applied, no error), from a
// later fresh-clone CI run: temporal-history exited with only this line.
const metadataNotApplied =
  '{"level":"error","ts":"2026-12-07T19:26:24.811Z","msg":"Failed to apply cluster metadata.","component":"metadata-initializer","cluster-name":"active"}';
const portTaken = '{"level":"fatal","msg":"Failed to start gRPC listener","error":"listen tcp 127.0.0.1:40123: bind: address already in use"}';

describe('whether a Temporal cluster start that failed is tried again', () => {
  it('tries again when separate services raced to write the first cluster metadata', () => {
    expect(startWorthRetrying(metadataRace, [])).toBe(true);
    expect(startWorthRetrying(metadataNotApplied, [])).toBe(true);
  });

  it('tries again when a port it picked was taken, not when the caller chose that port', () => {
    expect(startWorthRetrying(portTaken, [5432])).toBe(true);
    expect(startWorthRetrying(portTaken, [40123])).toBe(false);
  });

  it('does not try again for any other failure', () => {
    expect(startWorthRetrying('{"level":"fatal","msg":"sql schema version compatibility check failed"}', [])).toBe(false);
  });
});
