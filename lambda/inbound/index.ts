// Placeholder until the handler lands: it refuses to pretend to send.
export const handler = async (): Promise<never> => {
  throw new Error('not implemented yet');
};
