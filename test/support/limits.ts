// Time limits in tests only catch a hang: none measures speed (speed lives in `npm run bench`).
// They are generous so that a loaded machine never fails a test by its clock: with both cores
// busy, single CLI operations were seen to take 30-60 s, and a test runs several of them.

/** One test (jest.setTimeout) or one hook. */
export const TEST_LIMIT_MS = 20 * 60_000;
/** One `pulumi` or `pulumi-hostnet` command. */
export const CLI_LIMIT_MS = 15 * 60_000;
