/*
 * A stand-in for iRacing on Windows (or under Wine): it publishes the sim's shared memory
 * exactly as the sim does, so that irsdk-node, unchanged, reads it: the irsdk_header, the
 * variable headers, the session YAML (with sessionInfoUpdate counting its changes), the
 * rotating data buffers with their tick counts, and the Local\IRSDKDataValidEvent pulsed
 * after each buffer is written.
 *
 * What it publishes is a real recording: a disk .ibt, sample by sample, or a dump of the
 * sim's live memory map, whose latest buffer it republishes with SessionTick and
 * SessionTime advancing one tick at a time.
 *
 * It is scripted on stdin, one command a line, and answers each on stdout once it is done
 * ("ok <command> ..." or "error <why>"), so a test can play the sim's behaviours in order:
 *
 *   load ibt <path> | load dump <path>   read the recording (nothing is published yet)
 *   start [nosession]                    the sim starts: the memory map and the event appear,
 *                                        status connected; with nosession the YAML is empty
 *   session [<path>]                     (re)writes the YAML: the recording's, or this file's;
 *                                        sessionInfoUpdate + 1
 *   play <from> <to> [<hz>]              publishes samples from..to-1 at hz (the recording's
 *                                        tick rate by default); for a dump, to-from ticks
 *   hold <ms> [<hz>]                     the sim paused: the last buffer again and again, new
 *                                        tick counts, the data (and its SessionTick) unchanged
 *   stall <ms>                           nothing published, status still connected: stale data
 *   quit                                 the sim quits: status 0, then its handles are closed
 *   exit                                 quits if needed and ends the program
 *
 * Paths are Windows paths (Z:\... for a Linux path under Wine).
 */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MEMMAP_NAME "Local\\IRSDKMemMapFileName"
#define EVENT_NAME "Local\\IRSDKDataValidEvent"
#define HEADER_SIZE 112
#define DISK_HEADER_SIZE 32
#define VAR_HEADER_SIZE 144
#define NUM_BUF 3
#define MAX_BUFS 4
/* What the sim reserves for the session YAML (the live dump's sessionInfoLen). */
#define SESSION_INFO_RESERVED (512 * 1024)
#define MAX_BUF_LEN (1024 * 1024)
#define MAX_VARS 10000
/* The size of the sim's map (1164 KiB, the live dump's): always the same, so that a map a
   reader still holds from the sim's last run fits the next run too. */
#define SIM_MAP_SIZE (1164 * 1024)
#define STATUS_CONNECTED 1

typedef struct {
  int ver, status, tickRate, sessionInfoUpdate, sessionInfoLen, sessionInfoOffset;
  int numVars, varHeaderOffset, numBuf, bufLen, pad1[2];
  struct {
    int tickCount, bufOffset, pad[2];
  } varBuf[MAX_BUFS];
} Header;

static struct {
  int loaded, isDump;
  FILE *file;
  long long samplesOffset;
  int samples;
  int tickRate, bufLen, numVars;
  char *varHeaders; /* numVars * 144 bytes */
  char *yaml;       /* the recording's session YAML, NUL-terminated */
  int yamlLen;
  char *dump;       /* a dump: the whole map as it was */
  long long dumpSize;
  int dumpLatest;   /* a dump: the buffer with the highest tick count */
  int sessionTickOffset, sessionTimeOffset;
} rec;

static struct {
  HANDLE map, event;
  char *mem;
  Header *h;
  int sessionCap;
  char *sample; /* the current sample: what the next publish writes */
  int haveSample;
  int tickCount;
} sim;

static void reply(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  printf("\n");
  fflush(stdout);
}

static int findVar(const char *name, int type) {
  for (int i = 0; i < rec.numVars; i++) {
    const char *v = rec.varHeaders + (size_t)i * VAR_HEADER_SIZE;
    if (*(const int *)v == type && strncmp(v + 16, name, 32) == 0) return *(const int *)(v + 4);
  }
  return -1;
}

static void unload(void) {
  if (rec.file) fclose(rec.file);
  free(rec.varHeaders);
  free(rec.yaml);
  free(rec.dump);
  free(sim.sample);
  memset(&rec, 0, sizeof rec);
  sim.sample = NULL;
  sim.haveSample = 0;
}

static char *readAll(const char *path, long long *size) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  _fseeki64(f, 0, SEEK_END);
  long long n = _ftelli64(f);
  _fseeki64(f, 0, SEEK_SET);
  char *data = n >= 0 ? malloc((size_t)n + 1) : NULL;
  if (data && fread(data, 1, (size_t)n, f) != (size_t)n) {
    free(data);
    data = NULL;
  }
  fclose(f);
  if (data) data[n] = 0;
  *size = n;
  return data;
}

/* Checks the fields every later read depends on; returns an error text or NULL. */
static const char *checkHeader(const Header *h, long long size, int isDump) {
  static char why[256];
  if (h->ver != 1 && h->ver != 2) return "header field ver is not 1 or 2: not an iRacing file";
  if (h->tickRate < 1 || h->tickRate > 10000) return "tickRate is not in 1..10000";
  if (h->numVars < 1 || h->numVars > MAX_VARS) return "numVars is not in 1..10000";
  if (h->bufLen < 1 || h->bufLen > MAX_BUF_LEN) return "bufLen is not in 1..1048576";
  if (h->numBuf < 1 || h->numBuf > MAX_BUFS) return "numBuf is not in 1..4";
  if (h->sessionInfoLen < 0 || h->sessionInfoOffset < HEADER_SIZE || (long long)h->sessionInfoOffset + h->sessionInfoLen > size)
    return "the session info lies outside the file";
  if (h->varHeaderOffset < HEADER_SIZE || (long long)h->varHeaderOffset + (long long)h->numVars * VAR_HEADER_SIZE > size)
    return "the variable headers lie outside the file";
  int disk = h->sessionInfoOffset >= HEADER_SIZE + DISK_HEADER_SIZE && h->varHeaderOffset >= HEADER_SIZE + DISK_HEADER_SIZE;
  if (isDump && disk) return "this is a disk recording (it has a disk sub-header): load it as ibt";
  if (!isDump && !disk) {
    snprintf(why, sizeof why, "this is a dump of the live memory map (session info at byte %d, no disk sub-header), not a disk recording: load it as dump", h->sessionInfoOffset);
    return why;
  }
  for (int b = 0; b < (isDump ? h->numBuf : 1); b++) {
    if (h->varBuf[b].bufOffset < HEADER_SIZE || (long long)h->varBuf[b].bufOffset + h->bufLen > size) return "a data buffer lies outside the file";
  }
  return NULL;
}

static void cmdLoad(const char *kind, const char *path) {
  int isDump;
  if (strcmp(kind, "ibt") == 0) isDump = 0;
  else if (strcmp(kind, "dump") == 0) isDump = 1;
  else return reply("error load: kind %s; expected ibt or dump", kind);
  if (sim.map) return reply("error load: the sim is running; quit it first");
  unload();
  Header h;
  long long size = 0;
  if (isDump) {
    rec.dump = readAll(path, &size);
    if (!rec.dump) return reply("error load: cannot read %s", path);
    if (size < HEADER_SIZE) return unload(), reply("error load: %s is %lld bytes, shorter than the %d-byte header", path, size, HEADER_SIZE);
    memcpy(&h, rec.dump, sizeof h);
    rec.dumpSize = size;
  } else {
    rec.file = fopen(path, "rb");
    if (!rec.file) return reply("error load: cannot open %s", path);
    _fseeki64(rec.file, 0, SEEK_END);
    size = _ftelli64(rec.file);
    _fseeki64(rec.file, 0, SEEK_SET);
    if (size < HEADER_SIZE + DISK_HEADER_SIZE || fread(&h, 1, sizeof h, rec.file) != sizeof h)
      return unload(), reply("error load: %s is %lld bytes, shorter than an .ibt's 144-byte header", path, size);
  }
  const char *bad = checkHeader(&h, size, isDump);
  if (bad) return unload(), reply("error load: %s: %s", path, bad);
  rec.isDump = isDump;
  rec.tickRate = h.tickRate;
  rec.bufLen = h.bufLen;
  rec.numVars = h.numVars;
  rec.varHeaders = malloc((size_t)h.numVars * VAR_HEADER_SIZE);
  rec.yaml = calloc((size_t)h.sessionInfoLen + 1, 1);
  if (isDump) {
    memcpy(rec.varHeaders, rec.dump + h.varHeaderOffset, (size_t)h.numVars * VAR_HEADER_SIZE);
    memcpy(rec.yaml, rec.dump + h.sessionInfoOffset, (size_t)h.sessionInfoLen);
    rec.dumpLatest = 0;
    for (int b = 1; b < h.numBuf; b++)
      if (h.varBuf[b].tickCount > h.varBuf[rec.dumpLatest].tickCount) rec.dumpLatest = b;
    rec.samples = 1;
  } else {
    _fseeki64(rec.file, h.varHeaderOffset, SEEK_SET);
    fread(rec.varHeaders, 1, (size_t)h.numVars * VAR_HEADER_SIZE, rec.file);
    _fseeki64(rec.file, h.sessionInfoOffset, SEEK_SET);
    fread(rec.yaml, 1, (size_t)h.sessionInfoLen, rec.file);
    int recordCount;
    _fseeki64(rec.file, HEADER_SIZE + 28, SEEK_SET);
    fread(&recordCount, 4, 1, rec.file);
    long long available = (size - h.varBuf[0].bufOffset) / h.bufLen;
    rec.samples = recordCount > 0 && recordCount < available ? recordCount : (int)available;
    rec.samplesOffset = h.varBuf[0].bufOffset;
  }
  rec.yamlLen = (int)strlen(rec.yaml);
  rec.sessionTickOffset = findVar("SessionTick", 2);
  rec.sessionTimeOffset = findVar("SessionTime", 5);
  rec.loaded = 1;
  sim.sample = calloc((size_t)rec.bufLen, 1);
  reply("ok load kind=%s samples=%d vars=%d bufLen=%d tickRate=%d yaml=%d", kind, rec.samples, rec.numVars, rec.bufLen, rec.tickRate, rec.yamlLen);
}

/* Loads sample i of a recording (or, for a dump, its latest buffer) into sim.sample. */
static int loadSample(int i) {
  if (rec.isDump) {
    const Header *h = (const Header *)rec.dump;
    memcpy(sim.sample, rec.dump + h->varBuf[rec.dumpLatest].bufOffset, (size_t)rec.bufLen);
  } else {
    _fseeki64(rec.file, rec.samplesOffset + (long long)i * rec.bufLen, SEEK_SET);
    if (fread(sim.sample, 1, (size_t)rec.bufLen, rec.file) != (size_t)rec.bufLen) return 0;
  }
  sim.haveSample = 1;
  return 1;
}

static void writeYaml(const char *text, int len) {
  if (len >= sim.sessionCap) len = sim.sessionCap - 1;
  char *at = sim.mem + sim.h->sessionInfoOffset;
  memset(at, 0, (size_t)sim.sessionCap);
  memcpy(at, text, (size_t)len);
  sim.h->sessionInfoLen = sim.sessionCap;
  MemoryBarrier();
  sim.h->sessionInfoUpdate++;
}

static void cmdStart(int noSession) {
  if (!rec.loaded) return reply("error start: nothing loaded");
  if (sim.map) return reply("error start: the sim is already running");
  long long size;
  int yamlCap = SESSION_INFO_RESERVED;
  if (rec.yamlLen + 1 > yamlCap) yamlCap = (rec.yamlLen + 1 + 4095) / 4096 * 4096 * 2;
  int varOffset = HEADER_SIZE + yamlCap, bufStart = 0;
  if (rec.isDump) {
    size = rec.dumpSize;
  } else {
    bufStart = (varOffset + rec.numVars * VAR_HEADER_SIZE + 15) / 16 * 16;
    size = (long long)bufStart + (long long)NUM_BUF * rec.bufLen;
  }
  long long mapSize = size < SIM_MAP_SIZE ? SIM_MAP_SIZE : size;
  sim.map = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, (DWORD)(mapSize >> 32), (DWORD)mapSize, MEMMAP_NAME);
  int reused = GetLastError() == ERROR_ALREADY_EXISTS;
  if (!sim.map) return reply("error start: CreateFileMapping failed (%lu)", GetLastError());
  /* The whole section: a map a reader kept from the last run has that run's size. */
  sim.mem = MapViewOfFile(sim.map, FILE_MAP_ALL_ACCESS, 0, 0, 0);
  MEMORY_BASIC_INFORMATION region;
  if (!sim.mem || VirtualQuery(sim.mem, &region, sizeof region) == 0 || (long long)region.RegionSize < size) {
    unsigned long why = GetLastError();
    long long have = sim.mem ? (long long)region.RegionSize : 0;
    if (sim.mem) UnmapViewOfFile(sim.mem);
    CloseHandle(sim.map);
    sim.map = NULL;
    sim.mem = NULL;
    if (have > 0) return reply("error start: a reader still holds the last run's map of %lld bytes; this recording needs %lld", have, size);
    return reply("error start: MapViewOfFile failed (%lu)", why);
  }
  /* Manual reset, pulsed: every waiting reader wakes for each buffer, as with the sim. */
  sim.event = CreateEventA(NULL, TRUE, FALSE, EVENT_NAME);
  sim.h = (Header *)sim.mem;
  int lastUpdate = reused ? sim.h->sessionInfoUpdate : 0;
  if (rec.isDump) {
    memcpy(sim.mem, rec.dump, (size_t)size);
    sim.sessionCap = sim.h->sessionInfoLen;
    sim.tickCount = sim.h->varBuf[rec.dumpLatest].tickCount;
  } else {
    memset(sim.mem, 0, (size_t)size);
    Header *h = sim.h;
    h->ver = 2;
    h->tickRate = rec.tickRate;
    h->sessionInfoOffset = HEADER_SIZE;
    h->numVars = rec.numVars;
    h->varHeaderOffset = varOffset;
    h->numBuf = NUM_BUF;
    h->bufLen = rec.bufLen;
    for (int b = 0; b < NUM_BUF; b++) h->varBuf[b].bufOffset = bufStart + b * rec.bufLen;
    memcpy(sim.mem + varOffset, rec.varHeaders, (size_t)rec.numVars * VAR_HEADER_SIZE);
    sim.sessionCap = yamlCap;
    sim.tickCount = 0;
  }
  /* A reader that kept the old map sees the update counter go on, never back. */
  sim.h->sessionInfoUpdate = lastUpdate;
  if (noSession) memset(sim.mem + sim.h->sessionInfoOffset, 0, (size_t)sim.sessionCap);
  else writeYaml(rec.yaml, rec.yamlLen);
  loadSample(0);
  MemoryBarrier();
  sim.h->status = STATUS_CONNECTED;
  reply("ok start size=%lld session=%s%s", size, noSession ? "none" : "recording", reused ? " reused=1" : "");
}

static void cmdSession(const char *path) {
  if (!sim.map) return reply("error session: the sim is not running");
  if (!path) {
    writeYaml(rec.yaml, rec.yamlLen);
  } else {
    long long n;
    char *text = readAll(path, &n);
    if (!text) return reply("error session: cannot read %s", path);
    if (n >= sim.sessionCap) {
      free(text);
      return reply("error session: %s is %lld bytes; the session area holds %d", path, n, sim.sessionCap - 1);
    }
    writeYaml(text, (int)n);
    free(text);
  }
  reply("ok session update=%d", sim.h->sessionInfoUpdate);
}

static LARGE_INTEGER freq;
static double lastPublishAt = -1e18;

static double nowMs(void) {
  LARGE_INTEGER t;
  QueryPerformanceCounter(&t);
  return (double)t.QuadPart * 1000.0 / (double)freq.QuadPart;
}

/* One buffer: into the oldest slot, then its tick count, then the event (the sim's order). */
static void publish(void) {
  Header *h = sim.h;
  int slot = 0;
  for (int b = 1; b < h->numBuf; b++)
    if (h->varBuf[b].tickCount < h->varBuf[slot].tickCount) slot = b;
  memcpy(sim.mem + h->varBuf[slot].bufOffset, sim.sample, (size_t)h->bufLen);
  MemoryBarrier();
  h->varBuf[slot].tickCount = ++sim.tickCount;
  PulseEvent(sim.event);
  lastPublishAt = nowMs();
}

/*
 * Waits for the next tick's deadline `at` (ms on nowMs's clock; absolute, so the clock never
 * drifts), but never less than 90% of a period after the last buffer: a sim that fell behind
 * (this process starved of CPU) goes on at its pace rather than publishing the ticks it owes
 * back to back, which no reader of the latest buffer could follow, and which the sim does not do.
 */
static void waitForTick(double at, double period) {
  double earliest = lastPublishAt + 0.9 * period;
  if (at < earliest) at = earliest;
  double left = at - nowMs();
  if (left > 1.5) Sleep((DWORD)(left - 1));
  while (nowMs() < at) Sleep(0);
}

static int sessionTick(void) {
  return rec.sessionTickOffset >= 0 ? *(int *)(sim.sample + rec.sessionTickOffset) : -1;
}

static void cmdPlay(int from, int to, double hz) {
  if (!sim.map) return reply("error play: the sim is not running");
  if (from < 0 || to < from || (!rec.isDump && to > rec.samples))
    return reply("error play: samples %d..%d; expected 0 <= from <= to <= %d", from, to, rec.samples);
  if (hz <= 0) hz = rec.tickRate;
  double period = 1000.0 / hz, start = nowMs();
  int first = -1, last = -1;
  for (int i = from; i < to; i++) {
    if (rec.isDump) {
      /* The dump holds one moment: the clock moves on from it, one tick per buffer. */
      if (rec.sessionTickOffset >= 0) (*(int *)(sim.sample + rec.sessionTickOffset))++;
      if (rec.sessionTimeOffset >= 0) *(double *)(sim.sample + rec.sessionTimeOffset) += 1.0 / rec.tickRate;
    } else if (!loadSample(i)) {
      return reply("error play: cannot read sample %d", i);
    }
    waitForTick(start + (i - from) * period, period);
    publish();
    if (first < 0) first = sessionTick();
    last = sessionTick();
  }
  reply("ok play published=%d firstTick=%d lastTick=%d tickCount=%d", to - from, first, last, sim.tickCount);
}

static void cmdHold(int ms, double hz) {
  if (!sim.map) return reply("error hold: the sim is not running");
  if (hz <= 0) hz = rec.tickRate;
  double period = 1000.0 / hz, start = nowMs();
  int n = 0;
  for (; n * period < ms; n++) {
    waitForTick(start + n * period, period);
    publish();
  }
  reply("ok hold buffers=%d tick=%d tickCount=%d", n, sessionTick(), sim.tickCount);
}

static void cmdStall(int ms) {
  if (!sim.map) return reply("error stall: the sim is not running");
  Sleep((DWORD)ms);
  reply("ok stall ms=%d", ms);
}

static void quitSim(void) {
  if (!sim.map) return;
  /* The sim's way out: readers that still hold the map see it disconnected. */
  sim.h->status = 0;
  MemoryBarrier();
  PulseEvent(sim.event);
  UnmapViewOfFile(sim.mem);
  CloseHandle(sim.map);
  CloseHandle(sim.event);
  sim.map = sim.event = NULL;
  sim.mem = NULL;
  sim.h = NULL;
}

/* The next space-separated word of *rest, or NULL; *rest moves past it. */
static char *word(char **rest) {
  while (**rest == ' ') (*rest)++;
  if (!**rest) return NULL;
  char *w = *rest, *end = strchr(w, ' ');
  if (end) {
    *end = 0;
    *rest = end + 1;
  } else {
    *rest += strlen(w);
  }
  return w;
}

int main(void) {
  char line[4096];
  QueryPerformanceFrequency(&freq);
  setvbuf(stdout, NULL, _IOFBF, 1 << 16);
  reply("ready fake-sim");
  while (fgets(line, sizeof line, stdin)) {
    line[strcspn(line, "\r\n")] = 0;
    char *rest = line, *cmd = word(&rest);
    if (!cmd) continue;
    if (strcmp(cmd, "load") == 0) {
      char *kind = word(&rest);
      while (*rest == ' ') rest++;
      if (!kind || !*rest) reply("error load: expected load ibt|dump <path>");
      else cmdLoad(kind, rest);
    } else if (strcmp(cmd, "start") == 0) {
      char *how = word(&rest);
      cmdStart(how && strcmp(how, "nosession") == 0);
    } else if (strcmp(cmd, "session") == 0) {
      while (*rest == ' ') rest++;
      cmdSession(*rest ? rest : NULL);
    } else if (strcmp(cmd, "play") == 0) {
      char *from = word(&rest), *to = word(&rest), *hz = word(&rest);
      if (!from || !to) reply("error play: expected play <from> <to> [<hz>]");
      else cmdPlay(atoi(from), atoi(to), hz ? atof(hz) : 0);
    } else if (strcmp(cmd, "hold") == 0) {
      char *ms = word(&rest), *hz = word(&rest);
      if (!ms) reply("error hold: expected hold <ms> [<hz>]");
      else cmdHold(atoi(ms), hz ? atof(hz) : 0);
    } else if (strcmp(cmd, "stall") == 0) {
      char *ms = word(&rest);
      if (!ms) reply("error stall: expected stall <ms>");
      else cmdStall(atoi(ms));
    } else if (strcmp(cmd, "quit") == 0) {
      int was = sim.map != NULL;
      quitSim();
      reply(was ? "ok quit" : "ok quit (was not running)");
    } else if (strcmp(cmd, "exit") == 0) {
      break;
    } else {
      reply("error unknown command %s; expected load, start, session, play, hold, stall, quit or exit", cmd);
    }
  }
  quitSim();
  unload();
  reply("ok exit");
  return 0;
}
