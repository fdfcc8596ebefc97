"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.SfnAgentsError = void 0;
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
class SfnAgentsError extends Error {
    constructor(message) {
        super(message);
        this.name = 'SfnAgentsError';
    }
}
exports.SfnAgentsError = SfnAgentsError;
