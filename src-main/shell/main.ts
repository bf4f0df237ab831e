// Placeholder entry while the desktop shell is being written; replaced in the same series of commits.
import { app } from 'electron';
void app.whenReady().then(() => app.quit());
