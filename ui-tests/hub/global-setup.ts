// Brings the hub stack up once for the hub tests (both users and the workshop's), and down.
import { startHub } from './stack';
import { USERS } from './users';

export default async function globalSetup(): Promise<() => Promise<void>> {
  const hub = await startHub([...USERS.pair, ...USERS.workshop]);
  return hub.stop;
}
