// A happy-dom document for widget tests, installed on globalThis before Lumino loads. Node's
// own globals (fetch, URL, timers, events…) stay: requests reach a real daemon.
import { Window } from 'happy-dom';

export const win = new Window({ url: 'http://127.0.0.1/' });
const dom = win as unknown as Record<string, unknown>;
for (const name of Object.getOwnPropertyNames(win)) {
  if (name in globalThis && name !== 'window' && name !== 'document' && name !== 'navigator') {
    continue;
  }
  Object.defineProperty(globalThis, name, {
    value: name === 'window' ? win : dom[name],
    configurable: true,
    writable: true
  });
}
