/* The live soak's microphone in C: a JACK client that loops a signal into every non-system input port.

   Written in C so that the fake microphone is never the late client in the soak's measurement (a Python JACK
   client pays the interpreter's wake-up and GIL on every period; jackd named it late in 13 of 43 xrun lines of
   one 10-minute soak). Built and run by benchmarks/soak_live.py; same protocol as its Python player:

     jack_player SIGNAL.f32 NAN_EVERY_FRAMES CLIENT_NAME RT_PRIORITY

   SIGNAL.f32 is raw little-endian float32 mono (the loop). Every NAN_EVERY_FRAMES frames (0: never) one period of
   NaN is sent. The process thread asks for SCHED_FIFO at RT_PRIORITY once if jackd did not make it real-time.
   Prints "READY port,port" once connected; on SIGTERM/SIGINT prints "NANS n RT r" (r: 1 if the process thread ran
   SCHED_FIFO/RR) and exits 0. Errors: one line on stderr, exit 1. */
#include <jack/jack.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static float *sig_buf;
static size_t sig_len;
static size_t pos;         /* frames played so far (only the process thread writes it) */
static size_t nan_every;   /* frames between NaN periods, 0: none */
static size_t next_nan;
static volatile long nans; /* read by main after deactivation */
static volatile int rt = -1;
static int rt_priority;
static jack_port_t *port;
static volatile sig_atomic_t stop;

static void on_signal(int s) { (void)s; stop = 1; }

static int process(jack_nframes_t n, void *arg) {
    (void)arg;
    if (rt < 0) { /* once: like the Python player, ask for FIFO where jackd did not give it */
        int policy;
        struct sched_param sp;
        pthread_getschedparam(pthread_self(), &policy, &sp);
        if (policy != SCHED_FIFO && policy != SCHED_RR) {
            sp.sched_priority = rt_priority;
            policy = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp) == 0 ? SCHED_FIFO : policy;
        }
        rt = policy == SCHED_FIFO || policy == SCHED_RR;
    }
    float *buf = jack_port_get_buffer(port, n);
    size_t i0 = pos % sig_len;
    for (jack_nframes_t i = 0; i < n; i++) {
        buf[i] = sig_buf[i0];
        if (++i0 == sig_len) i0 = 0;
    }
    if (nan_every && pos >= next_nan) {
        for (jack_nframes_t i = 0; i < n; i++) buf[i] = NAN;
        nans++;
        next_nan += nan_every;
    }
    pos += n;
    return 0;
}

static float *read_signal(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    if (fseek(f, 0, SEEK_END) != 0) { fclose(f); return NULL; }
    long bytes = ftell(f);
    rewind(f);
    if (bytes < (long)sizeof(float)) { fclose(f); return NULL; }
    *len = (size_t)bytes / sizeof(float);
    float *buf = malloc(*len * sizeof(float));
    if (buf && fread(buf, sizeof(float), *len, f) != *len) { free(buf); buf = NULL; }
    fclose(f);
    return buf;
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s SIGNAL.f32 NAN_EVERY_FRAMES CLIENT_NAME RT_PRIORITY\n", argv[0]);
        return 1;
    }
    sig_buf = read_signal(argv[1], &sig_len);
    if (!sig_buf) { fprintf(stderr, "jack_player: cannot read %s\n", argv[1]); return 1; }
    nan_every = (size_t)strtoull(argv[2], NULL, 10);
    next_nan = nan_every;
    rt_priority = atoi(argv[4]);
    mlockall(MCL_CURRENT | MCL_FUTURE); /* no page faults in the process thread; best effort */
    jack_status_t status;
    jack_client_t *client = jack_client_open(argv[3], JackNoStartServer, &status);
    if (!client) { fprintf(stderr, "jack_player: no JACK server (status 0x%x)\n", (unsigned)status); return 1; }
    port = jack_port_register(client, "out", JACK_DEFAULT_AUDIO_TYPE, JackPortIsOutput, 0);
    if (!port || jack_set_process_callback(client, process, NULL) != 0 || jack_activate(client) != 0) {
        fprintf(stderr, "jack_player: cannot register/activate\n");
        jack_client_close(client);
        return 1;
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    const char **ports = jack_get_ports(client, NULL, JACK_DEFAULT_AUDIO_TYPE, JackPortIsInput);
    const char *mine = jack_port_name(port);
    printf("READY ");
    int first = 1;
    for (size_t i = 0; ports && ports[i]; i++) {
        if (strncmp(ports[i], "system:", 7) == 0 || strcmp(ports[i], mine) == 0) continue;
        if (jack_connect(client, mine, ports[i]) == 0) {
            printf("%s%s", first ? "" : ",", ports[i]);
            first = 0;
        }
    }
    printf("\n");
    fflush(stdout);
    if (ports) jack_free(ports);
    while (!stop) usleep(200000);
    jack_deactivate(client);
    jack_client_close(client);
    printf("NANS %ld RT %d\n", (long)nans, rt > 0);
    fflush(stdout);
    return 0;
}
