import { describe, expect, it } from 'vitest';
import { meetsGl, parseGlxinfo } from './gl';

const LLVMPIPE = `name of display: :1
display: :1  screen: 0
direct rendering: Yes
Extended renderer info (GLX_MESA_query_renderer):
    Vendor: Mesa (0xffffffff)
    Device: llvmpipe (LLVM 15.0.6, 256 bits) (0xffffffff)
    Max core profile version: 4.5
    Max compat profile version: 4.5
OpenGL vendor string: Mesa
OpenGL renderer string: llvmpipe (LLVM 15.0.6, 256 bits)
OpenGL core profile version string: 4.5 (Core Profile) Mesa 22.3.6
OpenGL version string: 4.5 (Compatibility Profile) Mesa 22.3.6
`;

describe('parseGlxinfo', () => {
  it('reads renderer, core version and software rendering', () => {
    expect(parseGlxinfo(LLVMPIPE)).toEqual({
      renderer: 'llvmpipe (LLVM 15.0.6, 256 bits)',
      core: [4, 5],
      software: true
    });
  });

  it('falls back to the version string and knows a hardware renderer', () => {
    const old = 'OpenGL renderer string: NVIDIA GeForce GT 710\nOpenGL version string: 2.1 NVIDIA';
    expect(parseGlxinfo(old)).toEqual({
      renderer: 'NVIDIA GeForce GT 710',
      core: [2, 1],
      software: false
    });
  });
});

describe('meetsGl', () => {
  it('compares major then minor', () => {
    const info = parseGlxinfo(LLVMPIPE);
    expect(meetsGl('3.3', info)).toBe(true);
    expect(meetsGl('4.5', info)).toBe(true);
    expect(meetsGl('4.6', info)).toBe(false);
    expect(meetsGl('3.3', { ...info, core: [2, 1] })).toBe(false);
  });
});
