// Session TMPDIRs left by a daemon that died are swept; one made while the sweep decides (a
// session starting in another daemon of the user) is kept. Real directories in the real /tmp.
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { makeSessionTmp, sweepSessionTmps } from './tmp';

describe('sweepSessionTmps', () => {
  it('removes those of gone sessions and keeps one made while it decides', async () => {
    const gone = 'sweepTestGone000';
    const starting = 'sweepTestStart00';
    const live = 'sweepTestLive000';
    const old = await makeSessionTmp(gone);
    const kept = await makeSessionTmp(live);
    let late = '';
    try {
      await sweepSessionTmps(async () => {
        // Another daemon's session starts while this one looks at processes and directories:
        // its directory (made first) was not there when the test began, its TMPDIR comes now.
        late = await makeSessionTmp(starting);
        return id => id === gone || id === starting;
      });
      expect(existsSync(old)).toBe(false);
      expect(existsSync(kept)).toBe(true);
      expect(existsSync(late)).toBe(true);
    } finally {
      await Promise.all(
        [old, kept, late].filter(Boolean).map(d => rm(d, { recursive: true, force: true }))
      );
    }
  });
});
