// The hub tests' Linux users: two for isolation, eight for the workshop.
export const USERS = {
  pair: ['dt-alice', 'dt-bob'],
  workshop: Array.from({ length: 8 }, (_, i) => `dt-w${i + 1}`)
};
