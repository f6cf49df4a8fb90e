import { describe, expect, it } from 'vitest';
import { findCombo, KEY_COMBOS, sendCombo } from './keys';
import { reconnectDelay } from './reconnect';

describe('key combinations', () => {
  it('presses in order and releases in reverse', () => {
    const sent: string[] = [];
    sendCombo(findCombo('ctrl-alt-del')!, (sym, code, down) =>
      sent.push(`${down ? 'down' : 'up'} ${code} 0x${sym.toString(16)}`)
    );
    expect(sent).toEqual([
      'down ControlLeft 0xffe3',
      'down AltLeft 0xffe9',
      'down Delete 0xffff',
      'up Delete 0xffff',
      'up AltLeft 0xffe9',
      'up ControlLeft 0xffe3'
    ]);
  });

  it('has unique ids and finds nothing for an unknown one', () => {
    expect(new Set(KEY_COMBOS.map(c => c.id)).size).toBe(KEY_COMBOS.length);
    expect(findCombo('rm -rf')).toBeUndefined();
    expect(findCombo('ctrl-w')?.keys.map(k => k[1])).toEqual(['ControlLeft', 'KeyW']);
  });
});

describe('reconnectDelay', () => {
  it('doubles from 1 s up to 30 s, randomized by ±50 %', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map(n => reconnectDelay(n, () => 0.5))).toEqual([
      1000, 2000, 4000, 8000, 16000, 30000, 30000
    ]);
    expect(reconnectDelay(3, () => 0)).toBe(2000);
    expect(reconnectDelay(3, () => 0.999)).toBe(5996);
  });
});
