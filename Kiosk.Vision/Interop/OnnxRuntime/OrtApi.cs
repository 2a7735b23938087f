// Raw ONNX Runtime C API: the OrtApi function table, mirrored by slot index.
// Layout read from include/onnxruntime/core/session/onnxruntime_c_api.h, ORT_API_VERSION 30 (ONNX Runtime 1.30.0):
// the struct is append-only, so each slot below has the same index in every later release. Only the slots the kiosk
// uses are typed; all of them exist in API version 17 (ONNX Runtime 1.17), the version we ask for.
// Pointer types: every `nint` below is the C pointer named in its comment.
using System.Runtime.InteropServices;
using Kiosk.Vision.Inference;

namespace Kiosk.Vision.Interop.OnnxRuntime;

internal enum OrtLoggingLevel { Verbose = 0, Info = 1, Warning = 2, Error = 3, Fatal = 4 }
internal enum OrtAllocatorType { Device = 0, Arena = 1 }
internal enum OrtMemType { CpuOutput = -1, Default = 0 }
internal enum OnnxType { Unknown = 0, Tensor = 1, Sequence = 2, Map = 3, Opaque = 4, SparseTensor = 5, Optional = 6 }

/// <summary>OrtErrorCode (onnxruntime_error_code.h).</summary>
public enum OrtErrorCode
{
    Ok = 0, Fail = 1, InvalidArgument = 2, NoSuchFile = 3, NoModel = 4, EngineError = 5, RuntimeException = 6,
    InvalidProtobuf = 7, ModelLoaded = 8, NotImplemented = 9, InvalidGraph = 10, EpFail = 11,
    ModelLoadCanceled = 12, ModelRequiresCompilation = 13, NotFound = 14, DeviceReset = 15,
}

/// <summary>GraphOptimizationLevel.</summary>
public enum GraphOptimizationLevel { DisableAll = 0, Basic = 1, Extended = 2, Layout = 3, All = 99 }

/// <summary>ExecutionMode.</summary>
public enum ExecutionMode { Sequential = 0, Parallel = 1 }

/// <summary>The typed function pointers of one OrtApi table, read once.</summary>
internal sealed unsafe class OrtApi
{
    /// <summary>Oldest API version whose table has every slot used here.</summary>
    public const uint MinimumApiVersion = 17;

    // OrtStatus* is returned as nint (null = success) and goes through OrtCheck.
    public readonly delegate* unmanaged<nint, OrtErrorCode> GetErrorCode;                       // 1 (const OrtStatus*)
    public readonly delegate* unmanaged<nint, byte*> GetErrorMessage;                           // 2 (const OrtStatus*) -> const char*
    public readonly delegate* unmanaged<OrtLoggingLevel, byte*, nint*, nint> CreateEnv;         // 3 (level, logid, OrtEnv**)
    public readonly delegate* unmanaged<nint, byte*, nint, nint*, nint> CreateSession;          // 7 (const OrtEnv*, const char* path, const OrtSessionOptions*, OrtSession**)
    public readonly delegate* unmanaged<nint, void*, nuint, nint, nint*, nint> CreateSessionFromArray; // 8
    public readonly delegate* unmanaged<nint, nint, nint*, nint*, nuint, nint*, nuint, nint*, nint> Run; // 9 (OrtSession*, const OrtRunOptions*, const char* const* in_names, const OrtValue* const* in, size_t, const char* const* out_names, size_t, OrtValue** out)
    public readonly delegate* unmanaged<nint*, nint> CreateSessionOptions;                      // 10 (OrtSessionOptions**)
    public readonly delegate* unmanaged<nint, ExecutionMode, nint> SetSessionExecutionMode;     // 13
    public readonly delegate* unmanaged<nint, nint> EnableCpuMemArena;                          // 18 (OrtSessionOptions*)
    public readonly delegate* unmanaged<nint, nint> DisableCpuMemArena;                         // 19 (OrtSessionOptions*)
    public readonly delegate* unmanaged<nint, byte*, nint> SetSessionLogId;                     // 20
    public readonly delegate* unmanaged<nint, int, nint> SetSessionLogSeverityLevel;            // 22
    public readonly delegate* unmanaged<nint, GraphOptimizationLevel, nint> SetSessionGraphOptimizationLevel; // 23
    public readonly delegate* unmanaged<nint, int, nint> SetIntraOpNumThreads;                  // 24
    public readonly delegate* unmanaged<nint, int, nint> SetInterOpNumThreads;                  // 25
    public readonly delegate* unmanaged<nint, nuint*, nint> SessionGetInputCount;               // 30 (const OrtSession*, size_t*)
    public readonly delegate* unmanaged<nint, nuint*, nint> SessionGetOutputCount;              // 31
    public readonly delegate* unmanaged<nint, nuint, nint*, nint> SessionGetInputTypeInfo;      // 33 (session, index, OrtTypeInfo**)
    public readonly delegate* unmanaged<nint, nuint, nint*, nint> SessionGetOutputTypeInfo;     // 34
    public readonly delegate* unmanaged<nint, nuint, nint, byte**, nint> SessionGetInputName;   // 36 (session, index, OrtAllocator*, char**)
    public readonly delegate* unmanaged<nint, nuint, nint, byte**, nint> SessionGetOutputName;  // 37
    public readonly delegate* unmanaged<nint, void*, nuint, long*, nuint, TensorElementType, nint*, nint> CreateTensorWithDataAsOrtValue; // 49 (const OrtMemoryInfo*, void* data, size_t bytes, const int64_t* shape, size_t rank, type, OrtValue**)
    public readonly delegate* unmanaged<nint, int*, nint> IsTensor;                             // 50 (const OrtValue*, int*)
    public readonly delegate* unmanaged<nint, void**, nint> GetTensorMutableData;               // 51 (OrtValue*, void**)
    public readonly delegate* unmanaged<nint, nint*, nint> CastTypeInfoToTensorInfo;            // 55 (const OrtTypeInfo*, const OrtTensorTypeAndShapeInfo**) borrowed
    public readonly delegate* unmanaged<nint, OnnxType*, nint> GetOnnxTypeFromTypeInfo;         // 56
    public readonly delegate* unmanaged<nint, TensorElementType*, nint> GetTensorElementType;   // 60 (const OrtTensorTypeAndShapeInfo*)
    public readonly delegate* unmanaged<nint, nuint*, nint> GetDimensionsCount;                 // 61
    public readonly delegate* unmanaged<nint, long*, nuint, nint> GetDimensions;                // 62
    public readonly delegate* unmanaged<nint, byte**, nuint, nint> GetSymbolicDimensions;       // 63 (info, const char* dim_params[], size_t)
    public readonly delegate* unmanaged<nint, nint*, nint> GetTensorTypeAndShape;               // 65 (const OrtValue*, OrtTensorTypeAndShapeInfo**)
    public readonly delegate* unmanaged<OrtAllocatorType, OrtMemType, nint*, nint> CreateCpuMemoryInfo; // 69 (type, mem_type, OrtMemoryInfo**)
    public readonly delegate* unmanaged<nint, void*, nint> AllocatorFree;                       // 76 (OrtAllocator*, void*)
    public readonly delegate* unmanaged<nint*, nint> GetAllocatorWithDefaultOptions;            // 78 (OrtAllocator**) borrowed, never freed
    public readonly delegate* unmanaged<nint, void> ReleaseEnv;                                 // 92
    public readonly delegate* unmanaged<nint, void> ReleaseStatus;                              // 93
    public readonly delegate* unmanaged<nint, void> ReleaseMemoryInfo;                          // 94
    public readonly delegate* unmanaged<nint, void> ReleaseSession;                             // 95
    public readonly delegate* unmanaged<nint, void> ReleaseValue;                               // 96
    public readonly delegate* unmanaged<nint, void> ReleaseTypeInfo;                            // 98
    public readonly delegate* unmanaged<nint, void> ReleaseTensorTypeAndShapeInfo;              // 99
    public readonly delegate* unmanaged<nint, void> ReleaseSessionOptions;                      // 100
    public readonly delegate* unmanaged<nint, byte*, byte*, nint> AddSessionConfigEntry;        // 130 (OrtSessionOptions*, const char* key, const char* value)

    public OrtApi(nint table)
    {
        var t = (nint*)table;
        GetErrorCode = (delegate* unmanaged<nint, OrtErrorCode>)t[1];
        GetErrorMessage = (delegate* unmanaged<nint, byte*>)t[2];
        CreateEnv = (delegate* unmanaged<OrtLoggingLevel, byte*, nint*, nint>)t[3];
        CreateSession = (delegate* unmanaged<nint, byte*, nint, nint*, nint>)t[7];
        CreateSessionFromArray = (delegate* unmanaged<nint, void*, nuint, nint, nint*, nint>)t[8];
        Run = (delegate* unmanaged<nint, nint, nint*, nint*, nuint, nint*, nuint, nint*, nint>)t[9];
        CreateSessionOptions = (delegate* unmanaged<nint*, nint>)t[10];
        SetSessionExecutionMode = (delegate* unmanaged<nint, ExecutionMode, nint>)t[13];
        EnableCpuMemArena = (delegate* unmanaged<nint, nint>)t[18];
        DisableCpuMemArena = (delegate* unmanaged<nint, nint>)t[19];
        SetSessionLogId = (delegate* unmanaged<nint, byte*, nint>)t[20];
        SetSessionLogSeverityLevel = (delegate* unmanaged<nint, int, nint>)t[22];
        SetSessionGraphOptimizationLevel = (delegate* unmanaged<nint, GraphOptimizationLevel, nint>)t[23];
        SetIntraOpNumThreads = (delegate* unmanaged<nint, int, nint>)t[24];
        SetInterOpNumThreads = (delegate* unmanaged<nint, int, nint>)t[25];
        SessionGetInputCount = (delegate* unmanaged<nint, nuint*, nint>)t[30];
        SessionGetOutputCount = (delegate* unmanaged<nint, nuint*, nint>)t[31];
        SessionGetInputTypeInfo = (delegate* unmanaged<nint, nuint, nint*, nint>)t[33];
        SessionGetOutputTypeInfo = (delegate* unmanaged<nint, nuint, nint*, nint>)t[34];
        SessionGetInputName = (delegate* unmanaged<nint, nuint, nint, byte**, nint>)t[36];
        SessionGetOutputName = (delegate* unmanaged<nint, nuint, nint, byte**, nint>)t[37];
        CreateTensorWithDataAsOrtValue = (delegate* unmanaged<nint, void*, nuint, long*, nuint, TensorElementType, nint*, nint>)t[49];
        IsTensor = (delegate* unmanaged<nint, int*, nint>)t[50];
        GetTensorMutableData = (delegate* unmanaged<nint, void**, nint>)t[51];
        CastTypeInfoToTensorInfo = (delegate* unmanaged<nint, nint*, nint>)t[55];
        GetOnnxTypeFromTypeInfo = (delegate* unmanaged<nint, OnnxType*, nint>)t[56];
        GetTensorElementType = (delegate* unmanaged<nint, TensorElementType*, nint>)t[60];
        GetDimensionsCount = (delegate* unmanaged<nint, nuint*, nint>)t[61];
        GetDimensions = (delegate* unmanaged<nint, long*, nuint, nint>)t[62];
        GetSymbolicDimensions = (delegate* unmanaged<nint, byte**, nuint, nint>)t[63];
        GetTensorTypeAndShape = (delegate* unmanaged<nint, nint*, nint>)t[65];
        CreateCpuMemoryInfo = (delegate* unmanaged<OrtAllocatorType, OrtMemType, nint*, nint>)t[69];
        AllocatorFree = (delegate* unmanaged<nint, void*, nint>)t[76];
        GetAllocatorWithDefaultOptions = (delegate* unmanaged<nint*, nint>)t[78];
        ReleaseEnv = (delegate* unmanaged<nint, void>)t[92];
        ReleaseStatus = (delegate* unmanaged<nint, void>)t[93];
        ReleaseMemoryInfo = (delegate* unmanaged<nint, void>)t[94];
        ReleaseSession = (delegate* unmanaged<nint, void>)t[95];
        ReleaseValue = (delegate* unmanaged<nint, void>)t[96];
        ReleaseTypeInfo = (delegate* unmanaged<nint, void>)t[98];
        ReleaseTensorTypeAndShapeInfo = (delegate* unmanaged<nint, void>)t[99];
        ReleaseSessionOptions = (delegate* unmanaged<nint, void>)t[100];
        AddSessionConfigEntry = (delegate* unmanaged<nint, byte*, byte*, nint>)t[130];
    }
}

/// <summary>OrtApiBase: { const OrtApi* (*GetApi)(uint32_t); const char* (*GetVersionString)(void); }.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct OrtApiBase
{
    public delegate* unmanaged<uint, nint> GetApi;
    public delegate* unmanaged<byte*> GetVersionString;
}
