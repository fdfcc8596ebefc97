/**
 * A mistake in the manifest, the props or the build that the user fixes: its message says what
 * to fix. An app prints just the message (no stack trace, which would only bury it):
 *
 * ```ts
 * } catch (e) {
 *   if (e instanceof SfnAgentsError) { console.error(`error: ${e.message}`); process.exit(1); }
 *   throw e;
 * }
 * ```
 */
export declare class SfnAgentsError extends Error {
    constructor(message: string);
}
