import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeMeets, nodeMinimum } from './doctor';

describe("the doctor's Node.js check", () => {
  it('reads major and minor from engines.node', () => {
    const dir = mkdtempSync(join(tmpdir(), 'desktops-doctor-'));
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ engines: { node: '>=18.20' } }));
    expect(nodeMinimum(dir)).toEqual([18, 20]);
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ engines: { node: '^18' } }));
    expect(() => nodeMinimum(dir)).toThrow(/no engines.node/);
  });

  it('counts the minor version: 18.19 is too old for 18.20', () => {
    expect(nodeMeets('v18.19.1', [18, 20])).toBe(false);
    expect(nodeMeets('v18.20.4', [18, 20])).toBe(true);
    expect(nodeMeets('v20.1.0', [18, 20])).toBe(true);
    expect(nodeMeets('v16.20.2', [18, 20])).toBe(false);
  });
});
