// A TokenVault for tests. Electron's safeStorage needs the Electron binary and the
// platform's keyring, neither of which a test run has, so this vault stands in for it with
// real encryption (AES-256-GCM under a random key per instance): a text sealed by one
// instance cannot be opened by another, just as safeStorage text from another user or
// machine cannot, and any damage to a sealed text fails its authentication tag.
import crypto from 'node:crypto';
import type { TokenVault } from '../../src-main/settings/settings-store';

const IV_BYTES = 12;
const TAG_BYTES = 16;

export class TestVault implements TokenVault {
  private readonly key = crypto.randomBytes(32);
  /** Set to a reason to play a platform without usable safe storage (Linux without a keyring). */
  unavailableReason: string | null = null;
  seals = 0;
  opens = 0;

  available(): { ok: true } | { ok: false; reason: string } {
    return this.unavailableReason === null ? { ok: true } : { ok: false, reason: this.unavailableReason };
  }

  seal(plain: string): string {
    if (this.unavailableReason !== null) throw new Error(`safe storage unavailable: ${this.unavailableReason}`);
    this.seals++;
    const iv = crypto.randomBytes(IV_BYTES);
    const cipher = crypto.createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
  }

  open(sealed: string): string {
    if (this.unavailableReason !== null) throw new Error(`safe storage unavailable: ${this.unavailableReason}`);
    this.opens++;
    const bytes = Buffer.from(sealed, 'base64');
    if (bytes.length < IV_BYTES + TAG_BYTES) throw new Error('sealed text too short');
    const decipher = crypto.createDecipheriv('aes-256-gcm', this.key, bytes.subarray(0, IV_BYTES));
    decipher.setAuthTag(bytes.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
  }
}
