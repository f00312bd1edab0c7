// What the kernel's side of reading a capture costs, apart from the audit: reads FILE from the page cache in 1 MiB
// read(2) calls, or through one mmap at a 2 MiB-aligned address, touching one byte per 64-byte cache line, and
// prints the seconds and the minor page faults. Built and run by tools/bench-read.sh; not part of the product.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static long minor_faults(void) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return u.ru_minflt;
}

int main(int argc, char **argv) {
  if (argc != 3 || (strcmp(argv[2], "read") != 0 && strcmp(argv[2], "mmap") != 0)) {
    fprintf(stderr, "usage: read-cost FILE read|mmap\n");
    return 2;
  }
  int fd = open(argv[1], O_RDONLY);
  if (fd < 0) { perror(argv[1]); return 1; }
  struct stat st;
  if (fstat(fd, &st) != 0) { perror("fstat"); return 1; }
  size_t size = (size_t)st.st_size;
  const size_t huge = 2u << 20;
  volatile uint64_t sum = 0; // keeps the loads
  long faults = minor_faults();
  double started = now();
  if (strcmp(argv[2], "read") == 0) {
    char *buffer = aligned_alloc(4096, 1 << 20);
    ssize_t n;
    while ((n = read(fd, buffer, 1 << 20)) > 0)
      for (ssize_t i = 0; i < n; i += 64) sum += (unsigned char)buffer[i];
    if (n < 0) { perror("read"); return 1; }
    free(buffer);
  } else {
    // A 2 MiB-aligned address, so that the kernel may map large folios with one entry each.
    char *room = mmap(NULL, size + huge, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (room == MAP_FAILED) { perror("mmap"); return 1; }
    char *at = (char *)(((uintptr_t)room + huge - 1) & ~(uintptr_t)(huge - 1));
    char *p = mmap(at, size, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0);
    if (p == MAP_FAILED) { perror("mmap"); return 1; }
    for (size_t i = 0; i < size; i += 64) sum += (unsigned char)p[i];
  }
  double seconds = now() - started;
  printf("%s: %zu bytes by %s in %.4f s, %ld minor page faults\n", argv[1], size, argv[2], seconds, minor_faults() - faults);
  return 0;
}
