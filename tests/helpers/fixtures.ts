import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
/** The real iRacing recordings, kept in this repository (see tests/fixtures/ibt/README.md for where they come from). */
export const FIXTURES = path.resolve(here, '..', 'fixtures', 'ibt');
export const VALID_IBT = path.join(FIXTURES, 'valid_test_file.ibt');
export const INVALID_IBT = path.join(FIXTURES, 'invalid_test_file.ibt');
/** A dump of iRacing's live shared-memory map, not a disk recording (README.md says what is in it). */
export const LIVE_IBT = path.join(FIXTURES, 'live_test_file.ibt');
