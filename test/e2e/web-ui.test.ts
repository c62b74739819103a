import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { CommandFailure } from '../../device/device-agent';
import { eventually } from '../support/eventually';
import { Harness } from '../support/harness';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Operators inspect commands in the Temporal Web UI: a real browser (Debian's Chromium,
 * headless, driven by playwright-core) filters by DeviceId, opens a command and finds its state.
 */
describe('inspecting commands in the Temporal Web UI', () => {
  const h = new Harness();
  let browser: Browser;
  const shots = path.join(h.env.dir, 'screenshots');

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `Chromium is missing at ${CHROMIUM}: install it with \`sudo apt-get install -y chromium\` (scripts/ensure-prereqs.sh does), or set CHROMIUM_PATH`,
      );
    }
    mkdirSync(shots, { recursive: true });
    await h.start();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await h.stop();
  });

  test('filter by DeviceId, open the command, read its state', async () => {
    await h.startDevice('ui-pump-1', {
      calibrate: async () => {
        throw new CommandFailure('sensor-fault', 'pressure sensor not responding');
      },
    });
    const handle = await h.client.send({ deviceId: 'ui-pump-1', name: 'calibrate', params: { range: 'high' } });
    expect((await handle.result()).state).toBe('Failed');

    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const query = encodeURIComponent(`DeviceId="ui-pump-1"`);
    await page.goto(`${h.env.uiUrl}/namespaces/default/workflows?query=${query}`);
    const row = page.getByRole('link', { name: handle.workflowId });
    await row.waitFor({ timeout: 30_000 });
    await page.screenshot({ path: path.join(shots, 'web-ui-filter-by-device.png') });

    await row.click();
    await page.waitForURL(new RegExp(`/workflows/${handle.workflowId}`), { timeout: 30_000 });
    await page.getByText('"state": "Failed"').first().waitFor({ timeout: 30_000 });
    const body = await page.locator('body').innerText();
    expect(body).toContain(handle.workflowId);
    expect(body).toContain('"state": "Failed"'); // the result, readable as it is
    await page.screenshot({ path: path.join(shots, 'web-ui-command.png') });

    // The summary says what and where in words (current details do the same while it runs).
    await page.getByText('User Metadata').first().click();
    // Markdown (summary, details) is rendered in sandboxed frames: read every frame.
    const pageText = async () =>
      (
        await Promise.all(
          page.frames().map((f) =>
            f
              .locator('body')
              .innerText()
              .catch(() => ''),
          ),
        )
      ).join('\n');
    const summary = await eventually(pageText, (t) => t.includes('Current Details') && /device\s+ui-pump-1/.test(t), 30_000);
    expect(summary).toMatch(/calibrate\s+→\s+device\s+ui-pump-1/);
    await page.screenshot({ path: path.join(shots, 'web-ui-command-summary.png') });

    // The search attributes carry the state, filterable: CommandState = Failed.
    await page.getByText('Search Attributes').first().click();
    const attributes = await eventually(pageText, (t) => /CommandState["\s:]+Failed/.test(t), 30_000);
    expect(attributes).toMatch(/DeviceId["\s:]+ui-pump-1/);
    await page.screenshot({ path: path.join(shots, 'web-ui-command-state.png') });
    process.stderr.write(`screenshots in ${shots}\n`);
  });
});
