/*
 * parsefloor: the libyaml event-parsing floor for a YAML file.
 *
 * Reads the whole file into memory, then pulls events with yaml_parser_parse
 * and frees each one (yaml_event_delete) until the stream ends, building
 * nothing. The time of that loop is the least any libyaml-based reader can
 * spend on the file on one thread (PERFORMANCE.md, "The floors").
 *
 *   cc -O2 bench/parsefloor.c -lyaml -o .build-bench/parsefloor
 *   .build-bench/parsefloor FILE [REPS]
 *
 * Prints one line per repetition:
 *   events=N bytes=B seconds=S mb_per_s=R
 * Exit 0, or 1 on a read or parse error (with libyaml's message and position).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <yaml.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static unsigned char *read_file(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f) { perror(path); return NULL; }
  size_t cap = 1 << 20, len = 0;
  unsigned char *buf = malloc(cap);
  if (!buf) { fclose(f); return NULL; }
  for (;;) {
    if (len == cap) {
      cap *= 2;
      unsigned char *grown = realloc(buf, cap);
      if (!grown) { free(buf); fclose(f); return NULL; }
      buf = grown;
    }
    size_t n = fread(buf + len, 1, cap - len, f);
    len += n;
    if (n == 0) break;
  }
  int failed = ferror(f);
  fclose(f);
  if (failed) { perror(path); free(buf); return NULL; }
  *size = len;
  return buf;
}

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: %s FILE [REPS]\n", argv[0]);
    return 2;
  }
  int reps = argc == 3 ? atoi(argv[2]) : 1;
  if (reps < 1) reps = 1;
  size_t size = 0;
  unsigned char *data = read_file(argv[1], &size);
  if (!data) return 1;

  for (int r = 0; r < reps; r++) {
    yaml_parser_t parser;
    yaml_event_t event;
    unsigned long long events = 0;
    if (!yaml_parser_initialize(&parser)) { fprintf(stderr, "yaml_parser_initialize failed\n"); return 1; }
    yaml_parser_set_input_string(&parser, data, size);
    double start = now();
    for (;;) {
      if (!yaml_parser_parse(&parser, &event)) {
        fprintf(stderr, "%s:%lu:%lu: %s\n", argv[1], (unsigned long)parser.problem_mark.line + 1,
                (unsigned long)parser.problem_mark.column + 1, parser.problem ? parser.problem : "parse error");
        yaml_parser_delete(&parser);
        return 1;
      }
      events++;
      int done = event.type == YAML_STREAM_END_EVENT;
      yaml_event_delete(&event);
      if (done) break;
    }
    double seconds = now() - start;
    yaml_parser_delete(&parser);
    printf("events=%llu bytes=%zu seconds=%.6f mb_per_s=%.1f\n", events, size, seconds,
           seconds > 0 ? (double)size / 1e6 / seconds : 0.0);
    fflush(stdout);
  }
  free(data);
  return 0;
}
