/* A fake libnvidia-ml.so.1 for tests on machines without an NVIDIA driver.
 *
 * It exports the NVML entry points that pynvml (nvidia-ml-py) looks up for the calls lgconsole makes, so the
 * real pynvml code path runs (ctypes loading, struct layouts, error classes) against a fake H100 80GB.
 * Behaviour is read from the environment at nvmlInit time:
 *
 *   FAKE_NVML_MODE           ok (default) | driver_not_loaded | no_permission | mig
 *   FAKE_NVML_GPUS           number of GPUs (default 1, at most 8)
 *   FAKE_NVML_PIDS           "pid:bytes[:gpu],..." compute processes (gpu defaults to 0)
 *   FAKE_NVML_MEM_USED       bytes used per GPU (default: the GPU's processes + 531 MiB driver reserve)
 *   FAKE_NVML_NOT_SUPPORTED  comma list of fields answering NVML_ERROR_NOT_SUPPORTED:
 *                            utilization, temperature, power, power_limit, mig, processes, memory_v2
 *
 * The fan speed is always NOT_SUPPORTED, as on a real H100.  Build: gcc -shared -fPIC -o libnvidia-ml.so.1 fake_nvml.c
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int nvmlReturn_t;
enum {
    NVML_SUCCESS = 0, NVML_ERROR_UNINITIALIZED = 1, NVML_ERROR_INVALID_ARGUMENT = 2, NVML_ERROR_NOT_SUPPORTED = 3,
    NVML_ERROR_NO_PERMISSION = 4, NVML_ERROR_INSUFFICIENT_SIZE = 7, NVML_ERROR_DRIVER_NOT_LOADED = 9,
    NVML_ERROR_UNKNOWN = 999
};

#define MAX_GPUS 8
#define MAX_PROCS 64
#define GIB (1024ULL * 1024ULL * 1024ULL)
#define MIB (1024ULL * 1024ULL)
#define VALUE_NOT_AVAILABLE_ULL (~0ULL)

typedef struct { unsigned long long total, free, used; } nvmlMemory_t;
typedef struct { unsigned int version; unsigned long long total, reserved, free, used; } nvmlMemory_v2_t;
typedef struct { unsigned int gpu, memory; } nvmlUtilization_t;
typedef struct {
    unsigned int pid;
    unsigned long long usedGpuMemory;
    unsigned int gpuInstanceId, computeInstanceId;
} nvmlProcessInfo_t;

typedef struct { int index; } fake_device_t;
typedef fake_device_t *nvmlDevice_t;

static fake_device_t devices[MAX_GPUS];
static int initialized = 0;
static int gpu_count = 1;
static int mig = 0;
static char not_supported[256] = "";
static long long mem_used_override = -1;
static struct { unsigned int pid; unsigned long long bytes; int gpu; } procs[MAX_PROCS];
static int proc_count = 0;

static int unsupported(const char *field) {
    char padded[64];
    snprintf(padded, sizeof padded, ",%s,", field);
    return strstr(not_supported, padded) != NULL;
}

static int valid(nvmlDevice_t device) {
    return initialized && device >= devices && device < devices + gpu_count;
}

static void parse_pids(const char *spec) {
    proc_count = 0;
    if (!spec) return;
    char *copy = strdup(spec), *save = NULL;
    for (char *item = strtok_r(copy, ",", &save); item && proc_count < MAX_PROCS; item = strtok_r(NULL, ",", &save)) {
        unsigned int pid = 0; unsigned long long bytes = 0; int gpu = 0;
        if (sscanf(item, "%u:%llu:%d", &pid, &bytes, &gpu) >= 2) {
            procs[proc_count].pid = pid; procs[proc_count].bytes = bytes; procs[proc_count].gpu = gpu;
            proc_count++;
        }
    }
    free(copy);
}

nvmlReturn_t nvmlInitWithFlags(unsigned int flags) {
    (void)flags;
    const char *mode = getenv("FAKE_NVML_MODE");
    mode = mode ? mode : "ok";
    if (strcmp(mode, "driver_not_loaded") == 0) return NVML_ERROR_DRIVER_NOT_LOADED;
    if (strcmp(mode, "no_permission") == 0) return NVML_ERROR_NO_PERMISSION;
    mig = strcmp(mode, "mig") == 0;
    const char *n = getenv("FAKE_NVML_GPUS");
    gpu_count = n ? atoi(n) : 1;
    if (gpu_count < 0) gpu_count = 0;
    if (gpu_count > MAX_GPUS) gpu_count = MAX_GPUS;
    for (int i = 0; i < MAX_GPUS; i++) devices[i].index = i;
    const char *ns = getenv("FAKE_NVML_NOT_SUPPORTED");
    snprintf(not_supported, sizeof not_supported, ",%s,", ns ? ns : "");
    const char *used = getenv("FAKE_NVML_MEM_USED");
    mem_used_override = used ? atoll(used) : -1;
    parse_pids(getenv("FAKE_NVML_PIDS"));
    initialized = 1;
    return NVML_SUCCESS;
}
nvmlReturn_t nvmlInit_v2(void) { return nvmlInitWithFlags(0); }
nvmlReturn_t nvmlInit(void) { return nvmlInitWithFlags(0); }
nvmlReturn_t nvmlShutdown(void) { initialized = 0; return NVML_SUCCESS; }

const char *nvmlErrorString(nvmlReturn_t result) {
    switch (result) {
    case NVML_SUCCESS: return "Success";
    case NVML_ERROR_UNINITIALIZED: return "Uninitialized";
    case NVML_ERROR_INVALID_ARGUMENT: return "Invalid Argument";
    case NVML_ERROR_NOT_SUPPORTED: return "Not Supported";
    case NVML_ERROR_NO_PERMISSION: return "Insufficient Permissions";
    case NVML_ERROR_INSUFFICIENT_SIZE: return "Insufficient Size";
    case NVML_ERROR_DRIVER_NOT_LOADED: return "Driver Not Loaded";
    default: return "Unknown Error";
    }
}

static nvmlReturn_t copy_string(const char *value, char *out, unsigned int length) {
    if (!out) return NVML_ERROR_INVALID_ARGUMENT;
    if (strlen(value) + 1 > length) return NVML_ERROR_INSUFFICIENT_SIZE;
    strcpy(out, value);
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlSystemGetDriverVersion(char *version, unsigned int length) {
    if (!initialized) return NVML_ERROR_UNINITIALIZED;
    return copy_string("580.95.05", version, length);
}
nvmlReturn_t nvmlSystemGetCudaDriverVersion(int *version) {
    if (!version) return NVML_ERROR_INVALID_ARGUMENT;
    *version = 13000;
    return NVML_SUCCESS;
}
nvmlReturn_t nvmlSystemGetCudaDriverVersion_v2(int *version) { return nvmlSystemGetCudaDriverVersion(version); }

nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *count) {
    if (!initialized) return NVML_ERROR_UNINITIALIZED;
    *count = (unsigned int)gpu_count;
    return NVML_SUCCESS;
}
nvmlReturn_t nvmlDeviceGetCount(unsigned int *count) { return nvmlDeviceGetCount_v2(count); }

nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device) {
    if (!initialized) return NVML_ERROR_UNINITIALIZED;
    if (index >= (unsigned int)gpu_count || !device) return NVML_ERROR_INVALID_ARGUMENT;
    *device = &devices[index];
    return NVML_SUCCESS;
}
nvmlReturn_t nvmlDeviceGetHandleByIndex(unsigned int index, nvmlDevice_t *device) {
    return nvmlDeviceGetHandleByIndex_v2(index, device);
}

nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char *name, unsigned int length) {
    if (!valid(device)) return NVML_ERROR_INVALID_ARGUMENT;
    return copy_string("NVIDIA H100 80GB HBM3", name, length);
}

nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t device, char *uuid, unsigned int length) {
    if (!valid(device)) return NVML_ERROR_INVALID_ARGUMENT;
    char value[96];
    snprintf(value, sizeof value, "GPU-fa4e0000-0000-4000-8000-00000000000%d", device->index);
    return copy_string(value, uuid, length);
}

static unsigned long long processes_bytes(int gpu) {
    unsigned long long sum = 0;
    for (int i = 0; i < proc_count; i++)
        if (procs[i].gpu == gpu) sum += procs[i].bytes;
    return sum;
}

static void memory(int gpu, unsigned long long *total, unsigned long long *used) {
    *total = 80ULL * GIB;
    *used = mem_used_override >= 0 ? (unsigned long long)mem_used_override : processes_bytes(gpu) + 531ULL * MIB;
    if (*used > *total) *used = *total;
}

nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t *out) {
    if (!valid(device) || !out) return NVML_ERROR_INVALID_ARGUMENT;
    memory(device->index, &out->total, &out->used);
    out->free = out->total - out->used;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetMemoryInfo_v2(nvmlDevice_t device, nvmlMemory_v2_t *out) {
    if (!valid(device) || !out) return NVML_ERROR_INVALID_ARGUMENT;
    if (unsupported("memory_v2")) return NVML_ERROR_NOT_SUPPORTED;
    memory(device->index, &out->total, &out->used);
    out->reserved = 531ULL * MIB;
    if (out->used < out->reserved) out->reserved = out->used;
    out->used -= out->reserved; /* v2 reports the driver reserve apart from `used` */
    out->free = out->total - out->used - out->reserved;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t device, nvmlUtilization_t *out) {
    if (!valid(device) || !out) return NVML_ERROR_INVALID_ARGUMENT;
    if (unsupported("utilization")) return NVML_ERROR_NOT_SUPPORTED;
    out->gpu = 37 + (unsigned int)device->index;
    out->memory = 12;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t device, int sensor, unsigned int *out) {
    if (!valid(device) || !out || sensor != 0) return NVML_ERROR_INVALID_ARGUMENT;
    if (unsupported("temperature")) return NVML_ERROR_NOT_SUPPORTED;
    *out = 41;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t device, unsigned int *milliwatts) {
    if (!valid(device) || !milliwatts) return NVML_ERROR_INVALID_ARGUMENT;
    if (unsupported("power")) return NVML_ERROR_NOT_SUPPORTED;
    *milliwatts = 123456;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetEnforcedPowerLimit(nvmlDevice_t device, unsigned int *milliwatts) {
    if (!valid(device) || !milliwatts) return NVML_ERROR_INVALID_ARGUMENT;
    if (unsupported("power_limit")) return NVML_ERROR_NOT_SUPPORTED;
    *milliwatts = 700000;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetFanSpeed(nvmlDevice_t device, unsigned int *speed) {
    (void)speed;
    if (!valid(device)) return NVML_ERROR_INVALID_ARGUMENT;
    return NVML_ERROR_NOT_SUPPORTED; /* H100 SXM has no fan */
}

nvmlReturn_t nvmlDeviceGetMigMode(nvmlDevice_t device, unsigned int *current, unsigned int *pending) {
    if (!valid(device) || !current || !pending) return NVML_ERROR_INVALID_ARGUMENT;
    if (unsupported("mig")) return NVML_ERROR_NOT_SUPPORTED;
    *current = *pending = mig ? 1 : 0;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t device, unsigned int *count,
                                                     nvmlProcessInfo_t *infos) {
    if (!valid(device) || !count) return NVML_ERROR_INVALID_ARGUMENT;
    if (unsupported("processes")) return NVML_ERROR_NOT_SUPPORTED;
    unsigned int n = 0;
    for (int i = 0; i < proc_count; i++)
        if (procs[i].gpu == device->index) n++;
    if (infos == NULL || *count < n) {
        *count = n;
        return n ? NVML_ERROR_INSUFFICIENT_SIZE : NVML_SUCCESS;
    }
    unsigned int k = 0;
    for (int i = 0; i < proc_count; i++) {
        if (procs[i].gpu != device->index) continue;
        infos[k].pid = procs[i].pid;
        /* with MIG enabled, NVML cannot attribute memory per process: it answers "not available" */
        infos[k].usedGpuMemory = mig ? VALUE_NOT_AVAILABLE_ULL : procs[i].bytes;
        infos[k].gpuInstanceId = mig ? 1 : 0xFFFFFFFFu;
        infos[k].computeInstanceId = mig ? 0 : 0xFFFFFFFFu;
        k++;
    }
    *count = k;
    return NVML_SUCCESS;
}
nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v2(nvmlDevice_t device, unsigned int *count,
                                                     nvmlProcessInfo_t *infos) {
    return nvmlDeviceGetComputeRunningProcesses_v3(device, count, infos);
}
