// A form post whose session loads while other work runs (routes/deps.ts checkedForm) answers a
// refused CSRF token first, whatever else failed meanwhile.

/** `work`, whose failure is reported only once `checked` passed (a refused CSRF token wins). */
export function afterCheck<T>(work: Promise<T>, checked: Promise<void>): Promise<T> {
  return work.catch(async (err: unknown) => {
    await checked;
    throw err;
  });
}
