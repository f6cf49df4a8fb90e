import { describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS, readSettings, rfbProperties } from './settings';
import schema from '../schema/plugin.json';

describe('readSettings', () => {
  it('gives the defaults for nothing, and the schema has the same defaults', () => {
    expect(readSettings(undefined)).toEqual(DEFAULT_SETTINGS);
    const fromSchema = Object.fromEntries(
      Object.entries(schema.properties).map(([k, v]) => [k, (v as { default: unknown }).default])
    );
    expect(fromSchema).toEqual({ ...DEFAULT_SETTINGS });
  });

  it('takes valid values and drops invalid ones, field by field', () => {
    const valid = {
      resize: 'scale',
      quality: 9,
      compression: 0,
      viewOnly: true,
      stopOnClose: true,
      reconnectAttempts: 0,
      dotCursor: true,
      startTimeout: 5,
      confirmEnd: false
    };
    expect(readSettings(valid)).toEqual(valid);
    expect(
      readSettings({
        resize: 'stretch',
        quality: 10,
        compression: 1.5,
        viewOnly: 'yes',
        reconnectAttempts: -1,
        startTimeout: 4,
        confirmEnd: 'no'
      })
    ).toEqual(DEFAULT_SETTINGS);
  });
});

describe('rfbProperties', () => {
  it('maps each resize mode to noVNC, leaving remote resizing to RemoteResizer', () => {
    const remote = rfbProperties({ ...DEFAULT_SETTINGS, resize: 'remote' });
    expect(remote).toMatchObject({
      resizeSession: false,
      scaleViewport: false,
      clipViewport: false
    });
    expect(rfbProperties({ ...DEFAULT_SETTINGS, resize: 'scale' })).toMatchObject({
      resizeSession: false,
      scaleViewport: true,
      clipViewport: false
    });
    expect(rfbProperties({ ...DEFAULT_SETTINGS, resize: 'none' })).toMatchObject({
      scaleViewport: false,
      clipViewport: true
    });
  });

  it('passes quality, compression, view-only and the dot cursor through', () => {
    expect(
      rfbProperties({
        ...DEFAULT_SETTINGS,
        quality: 2,
        compression: 7,
        viewOnly: true,
        dotCursor: true
      })
    ).toMatchObject({ qualityLevel: 2, compressionLevel: 7, viewOnly: true, showDotCursor: true });
  });
});
