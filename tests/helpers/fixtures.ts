import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
/** The design repository's shared fixtures sit beside this repository: ../shared. */
export const FIXTURES = path.resolve(here, '..', '..', '..', 'shared', 'fixtures', 'ibt');
export const VALID_IBT = path.join(FIXTURES, 'valid_test_file.ibt');
export const INVALID_IBT = path.join(FIXTURES, 'invalid_test_file.ibt');
