// How far apart the machine's first two cores are, as the two-thread audit feels it. Two threads pinned to cores 0
// and 1 pass a counter back and forth in one cache line; the time of a round trip over two is the one-way latency
// (about 20-40 ns for two cores sharing a cache, 70-100 ns across chiplets, 200 ns and more on this VM in some hours).
// Then the cost that distance puts on a producer: core 1 writes 88-byte records into a 360 KiB buffer, core 0 reads
// them, and core 1 writes the buffer again, either as left (each line held by both cores, so each store waits for the
// other core to drop its copy) or after core 0 wrote over what it read (VoipPipeline's Batch.HandBack).
// Prints: one_way_ns=N shared_store_ns=N handed_back_store_ns=N (the last two per record).
// Built and run by tools/bench-ratio.sh; not part of the product. Usage: core-latency [ROUNDS]
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RECORD 88
#define BUFFER (4096 * RECORD)
#define PASSES 40

static _Atomic long turn __attribute__((aligned(64)));
static _Atomic int phase __attribute__((aligned(64)));
static char *buffer;
static int hand_back;
static volatile long sink;

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e9 + t.tv_nsec;
}

static int pin(int core) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(core, &set);
  return pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

static long rounds = 200000;

static void *answer(void *unused) {
  (void)unused;
  pin(0);
  for (long i = 0; i < rounds; i++) {
    while (atomic_load_explicit(&turn, memory_order_acquire) != 2 * i + 1) {}
    atomic_store_explicit(&turn, 2 * i + 2, memory_order_release);
  }
  return NULL;
}

static void *consume(void *unused) {
  (void)unused;
  pin(0);
  for (int pass = 0; pass < PASSES; pass++) {
    while (atomic_load(&phase) != 2 * pass + 1) {}
    long sum = 0;
    for (int i = 0; i < BUFFER; i += 64) sum += buffer[i];
    if (hand_back) memset(buffer, 0, BUFFER);
    sink += sum;
    atomic_store(&phase, 2 * pass + 2);
  }
  return NULL;
}

// Nanoseconds per record core 1 spends writing the buffer again after core 0 read it.
static double produce(int back) {
  pthread_t t;
  hand_back = back;
  atomic_store(&phase, 0);
  memset(buffer, 1, BUFFER);
  pthread_create(&t, NULL, consume, NULL);
  double spent = 0;
  for (int pass = 0; pass < PASSES; pass++) {
    double start = now_ns();
    for (int at = 0; at + RECORD <= BUFFER; at += RECORD) {
      *(long *)(buffer + at) = pass;
      *(long *)(buffer + at + 40) = pass;
      *(long *)(buffer + at + 80) = pass;
    }
    if (pass > 0) spent += now_ns() - start; // the first pass writes lines only this core held
    atomic_store(&phase, 2 * pass + 1);
    while (atomic_load(&phase) != 2 * pass + 2) {}
  }
  pthread_join(t, NULL);
  return spent / (PASSES - 1) / (BUFFER / RECORD);
}

int main(int argc, char **argv) {
  if (argc > 1) rounds = atol(argv[1]);
  if (pin(1) != 0) {
    fprintf(stderr, "core-latency: cannot run on core 1 (one core only?)\n");
    return 1;
  }
  pthread_t t;
  pthread_create(&t, NULL, answer, NULL);
  double start = now_ns();
  for (long i = 0; i < rounds; i++) {
    atomic_store_explicit(&turn, 2 * i + 1, memory_order_release);
    while (atomic_load_explicit(&turn, memory_order_acquire) != 2 * i + 2) {}
  }
  double one_way = (now_ns() - start) / rounds / 2;
  pthread_join(t, NULL);
  buffer = aligned_alloc(4096, BUFFER);
  if (buffer == NULL) return 1;
  double shared = produce(0), handed_back = produce(1);
  printf("one_way_ns=%.0f shared_store_ns=%.1f handed_back_store_ns=%.1f\n", one_way, shared, handed_back);
  return 0;
}
