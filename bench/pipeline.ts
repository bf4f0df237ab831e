// The relay's hot path wired the way Relay.start wires it: synthetic source -> FrameBuilder
// -> BackendManager, without the settings file, the watcher or the debug server.
import { BackendManager } from '../src-main/relay/backend-manager';
import { FrameBuilder } from '../src-main/relay/frame-builder';
import { SyntheticSource } from '../src-main/sources/synthetic';
import { APP_VERSION } from '../src-main/version';
import type { Settings } from '../src-shared/settings';
import { benchSettings } from './util';

export interface Pipeline {
  source: SyntheticSource;
  builder: FrameBuilder;
  manager: BackendManager;
  settings: Settings;
  sessionId: string;
  start(): void;
  stop(): Promise<void>;
}

/** `onBuilt` sees every frame with the hrtime taken just before it was built. */
export function relayPipeline(urls: readonly string[], onBuilt?: (frame: { stream: string; seq: number }, producedNs: bigint) => void): Pipeline {
  const source = new SyntheticSource({ controlsHz: 60, baselineHz: 4 });
  const session = source.session;
  const builder = new FrameBuilder(session.sessionId, session.meta, source.streams, 0.05, APP_VERSION);
  const settings = benchSettings(urls);
  const manager = new BackendManager(settings, () => builder.current());
  return {
    source,
    builder,
    manager,
    settings,
    sessionId: session.sessionId,
    start: () =>
      source.start({
        session: (s) => {
          if (s.sessionId !== builder.sessionId) builder.setSession(s.sessionId, s.meta);
        },
        sample: (s) => {
          if (!onBuilt) {
            manager.publish(builder.build(s.stream, s.data, s.tick));
            return;
          }
          const producedNs = process.hrtime.bigint();
          const frame = builder.build(s.stream, s.data, s.tick);
          onBuilt(frame, producedNs);
          manager.publish(frame);
        },
        state: () => {},
      }),
    stop: async () => {
      await source.stop();
      await manager.close();
    },
  };
}
