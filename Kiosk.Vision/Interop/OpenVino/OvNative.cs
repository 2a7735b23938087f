// Raw OpenVINO C API 2.0 (libopenvino_c): the functions the kiosk uses, resolved once by name.
//
// Release range: OpenVINO 2022.3 LTS (the last release with the MYRIAD plugin for the Intel NCS2) through the
// current release. Read from src/bindings/c/include/openvino/c/*.h of 2022.3 (the 2022.3 API reference), of 2025.0
// (the headers a 2025.0 wheel installs) and of 2026.1.2 (through bindgen's output of those headers); every function
// below has the same signature in all three, and every struct the same layout. Two things differ between releases and
// are handled in OvLibrary:
//  - ov_element_type_e was renumbered twice (2024.2 inserted U2/U3/U6 before U8; 2025.1 merged UNDEFINED into
//    DYNAMIC = 0, shifting every value down by one, F32 5 -> 4): see OvElementTypes.
//  - ov_get_last_err_msg does not exist in 2022.3 (added in 2023.x): it is an optional export.
// scripts/openvino-abi-check.c asserts every layout and value below against real headers (scripts/check-openvino-abi.sh).
//
// Pointer types: every `nint` is the opaque C pointer named in its comment (ov_core_t*, ov_model_t* ...);
// `byte*` is a NUL-terminated UTF-8 `char*`. ov_status_e is returned as OvStatus (C enum, int-sized);
// ov_element_type_e is passed as uint (C enum of non-negative values, unsigned int). C `bool` is returned as byte.
using System.Runtime.InteropServices;

namespace Kiosk.Vision.Interop.OpenVino;

/// <summary>ov_status_e (ov_common.h), same values from 2022.3 to the current release.</summary>
public enum OvStatus
{
    Ok = 0,                      // OK
    GeneralError = -1,           // GENERAL_ERROR
    NotImplemented = -2,         // NOT_IMPLEMENTED
    NetworkNotLoaded = -3,       // NETWORK_NOT_LOADED
    ParameterMismatch = -4,      // PARAMETER_MISMATCH
    NotFound = -5,               // NOT_FOUND
    OutOfBounds = -6,            // OUT_OF_BOUNDS
    Unexpected = -7,             // UNEXPECTED
    RequestBusy = -8,            // REQUEST_BUSY
    ResultNotReady = -9,         // RESULT_NOT_READY
    NotAllocated = -10,          // NOT_ALLOCATED
    InferNotStarted = -11,       // INFER_NOT_STARTED
    NetworkNotRead = -12,        // NETWORK_NOT_READ
    InferCancelled = -13,        // INFER_CANCELLED
    InvalidCParam = -14,         // INVALID_C_PARAM
    UnknownCError = -15,         // UNKNOWN_C_ERROR
    NotImplementCMethod = -16,   // NOT_IMPLEMENT_C_METHOD
    UnknownException = -17,      // UNKNOW_EXCEPTION (sic)
}

/// <summary>ov_shape_t (ov_shape.h): { int64_t rank; int64_t* dims; }, 16 bytes. dims is owned by OpenVINO when it
/// filled the struct (ov_shape_create, ov_const_port_get_shape): free with ov_shape_free.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct ov_shape_t
{
    public long rank;
    public long* dims;
}

/// <summary>ov_dimension_t (ov_dimension.h): { int64_t min; int64_t max; }, 16 bytes. Static when min == max;
/// a fully dynamic dimension is { 0, -1 }. ov_rank_t is the same struct (ov_rank.h: typedef ov_dimension_t ov_rank_t).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct ov_dimension_t
{
    public long min;
    public long max;

    public readonly bool IsStatic => min == max;
}

/// <summary>ov_partial_shape_t (ov_partial_shape.h): { ov_rank_t rank; ov_dimension_t* dims; }, 24 bytes.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct ov_partial_shape_t
{
    public ov_dimension_t rank;
    public ov_dimension_t* dims;
}

/// <summary>ov_version_t (ov_core.h): { const char* buildNumber; const char* description; }, 16 bytes; both
/// strings are allocated by ov_get_openvino_version and freed by ov_version_free.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct ov_version_t
{
    public byte* buildNumber;
    public byte* description;
}

/// <summary>ov_available_devices_t (ov_core.h): { char** devices; size_t size; }, 16 bytes; freed by
/// ov_available_devices_free.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct ov_available_devices_t
{
    public byte** devices;
    public nuint size;
}

/// <summary>The typed function pointers of one loaded libopenvino_c, resolved once.</summary>
internal sealed unsafe class OvNative
{
    // ov_common.h
    public readonly delegate* unmanaged<OvStatus, byte*> ov_get_error_info;                 // const char* (static, never freed)
    public readonly delegate* unmanaged<byte*, void> ov_free;                               // (const char*)
    /// <summary>Optional: 2023.x and later. Returns an allocated copy (free with ov_free) of the message of the last
    /// C++ exception any thread's call turned into a status, or NULL.</summary>
    public readonly delegate* unmanaged<byte*> ov_get_last_err_msg;

    // ov_core.h
    public readonly delegate* unmanaged<ov_version_t*, OvStatus> ov_get_openvino_version;
    public readonly delegate* unmanaged<ov_version_t*, void> ov_version_free;
    public readonly delegate* unmanaged<nint*, OvStatus> ov_core_create;                    // (ov_core_t**)
    public readonly delegate* unmanaged<nint, void> ov_core_free;                           // (ov_core_t*)
    public readonly delegate* unmanaged<nint, ov_available_devices_t*, OvStatus> ov_core_get_available_devices; // (const ov_core_t*, ...)
    public readonly delegate* unmanaged<ov_available_devices_t*, void> ov_available_devices_free;
    public readonly delegate* unmanaged<nint, byte*, byte*, byte**, OvStatus> ov_core_get_property; // (const ov_core_t*, const char* device, const char* key, char** value) value: free with ov_free
    public readonly delegate* unmanaged<nint, byte*, byte*, nint*, OvStatus> ov_core_read_model;    // (const ov_core_t*, const char* xml, const char* bin or NULL, ov_model_t**)

    // ov_core_compile_model(const ov_core_t*, const ov_model_t*, const char* device_name, const size_t property_args_size,
    //                       ov_compiled_model_t**, ...) is variadic: property_args_size counts the variadic arguments
    // (keys and values, so twice the number of properties; ov_core.cpp rejects an odd count) and each is a char*.
    // .NET cannot call C varargs in general, but on the two ABIs the kiosk runs on, variadic pointer-sized arguments are
    // passed exactly like named ones: x86-64 System V (registers, then 8-byte stack slots; AL, the vector-register count
    // a variadic callee reads, only decides whether the callee spills XMM registers, harmless here as no float is
    // passed) and Linux AArch64 AAPCS64 (x0-x7, then 8-byte stack slots; unlike Apple's arm64, which puts every variadic
    // argument on the stack). So a fixed-arity pointer with the exact number of (key, value) pairs is ABI-correct there;
    // OvLibrary refuses other architectures.
    public readonly delegate* unmanaged<nint, nint, byte*, nuint, nint*, OvStatus> ov_core_compile_model_0;
    public readonly delegate* unmanaged<nint, nint, byte*, nuint, nint*, byte*, byte*, OvStatus> ov_core_compile_model_1;
    public readonly delegate* unmanaged<nint, nint, byte*, nuint, nint*, byte*, byte*, byte*, byte*, OvStatus> ov_core_compile_model_2;

    // ov_model.h
    public readonly delegate* unmanaged<nint, void> ov_model_free;                          // (ov_model_t*)
    public readonly delegate* unmanaged<nint, nuint*, OvStatus> ov_model_inputs_size;       // (const ov_model_t*, size_t*)
    public readonly delegate* unmanaged<nint, nuint*, OvStatus> ov_model_outputs_size;
    public readonly delegate* unmanaged<nint, nuint, nint*, OvStatus> ov_model_const_input_by_index;  // (const ov_model_t*, size_t, ov_output_const_port_t**)
    public readonly delegate* unmanaged<nint, nuint, nint*, OvStatus> ov_model_const_output_by_index;
    public readonly delegate* unmanaged<nint, nuint*, ov_partial_shape_t*, nuint, OvStatus> ov_model_reshape_by_port_indexes; // (const ov_model_t*, const size_t* port_indexes, const ov_partial_shape_t*, size_t)

    // ov_node.h (ports)
    public readonly delegate* unmanaged<nint, byte**, OvStatus> ov_port_get_any_name;       // (const ov_output_const_port_t*, char**) free with ov_free
    public readonly delegate* unmanaged<nint, ov_partial_shape_t*, OvStatus> ov_port_get_partial_shape; // free with ov_partial_shape_free
    public readonly delegate* unmanaged<nint, uint*, OvStatus> ov_port_get_element_type;    // (const ov_output_const_port_t*, ov_element_type_e*)
    public readonly delegate* unmanaged<nint, ov_shape_t*, OvStatus> ov_const_port_get_shape; // free with ov_shape_free
    public readonly delegate* unmanaged<nint, void> ov_output_const_port_free;              // (ov_output_const_port_t*)

    // ov_partial_shape.h, ov_shape.h
    public readonly delegate* unmanaged<long, ov_dimension_t*, ov_partial_shape_t*, OvStatus> ov_partial_shape_create; // (int64_t rank, const ov_dimension_t*, ov_partial_shape_t*)
    public readonly delegate* unmanaged<ov_partial_shape_t*, void> ov_partial_shape_free;
    public readonly delegate* unmanaged<long, long*, ov_shape_t*, OvStatus> ov_shape_create; // (int64_t rank, const int64_t*, ov_shape_t*)
    public readonly delegate* unmanaged<ov_shape_t*, OvStatus> ov_shape_free;

    // ov_prepostprocess.h
    public readonly delegate* unmanaged<nint, nint*, OvStatus> ov_preprocess_prepostprocessor_create;  // (const ov_model_t*, ov_preprocess_prepostprocessor_t**)
    public readonly delegate* unmanaged<nint, void> ov_preprocess_prepostprocessor_free;
    public readonly delegate* unmanaged<nint, nuint, nint*, OvStatus> ov_preprocess_prepostprocessor_get_input_info_by_index;  // (..., ov_preprocess_input_info_t**)
    public readonly delegate* unmanaged<nint, void> ov_preprocess_input_info_free;
    public readonly delegate* unmanaged<nint, nint*, OvStatus> ov_preprocess_input_info_get_tensor_info;  // (const ov_preprocess_input_info_t*, ov_preprocess_input_tensor_info_t**)
    public readonly delegate* unmanaged<nint, void> ov_preprocess_input_tensor_info_free;
    public readonly delegate* unmanaged<nint, uint, OvStatus> ov_preprocess_input_tensor_info_set_element_type; // (ov_preprocess_input_tensor_info_t*, const ov_element_type_e)
    public readonly delegate* unmanaged<nint, nuint, nint*, OvStatus> ov_preprocess_prepostprocessor_get_output_info_by_index; // (..., ov_preprocess_output_info_t**)
    public readonly delegate* unmanaged<nint, void> ov_preprocess_output_info_free;
    public readonly delegate* unmanaged<nint, nint*, OvStatus> ov_preprocess_output_info_get_tensor_info; // (const ov_preprocess_output_info_t*, ov_preprocess_output_tensor_info_t**)
    public readonly delegate* unmanaged<nint, void> ov_preprocess_output_tensor_info_free;
    public readonly delegate* unmanaged<nint, uint, OvStatus> ov_preprocess_output_set_element_type; // (ov_preprocess_output_tensor_info_t*, const ov_element_type_e)
    public readonly delegate* unmanaged<nint, nint*, OvStatus> ov_preprocess_prepostprocessor_build; // (const ov_preprocess_prepostprocessor_t*, ov_model_t**) a new model

    // ov_compiled_model.h
    public readonly delegate* unmanaged<nint, nuint*, OvStatus> ov_compiled_model_inputs_size;     // (const ov_compiled_model_t*, size_t*)
    public readonly delegate* unmanaged<nint, nuint*, OvStatus> ov_compiled_model_outputs_size;
    public readonly delegate* unmanaged<nint, nuint, nint*, OvStatus> ov_compiled_model_input_by_index;  // (..., ov_output_const_port_t**)
    public readonly delegate* unmanaged<nint, nuint, nint*, OvStatus> ov_compiled_model_output_by_index;
    public readonly delegate* unmanaged<nint, nint*, OvStatus> ov_compiled_model_create_infer_request; // (const ov_compiled_model_t*, ov_infer_request_t**)
    public readonly delegate* unmanaged<nint, void> ov_compiled_model_free;

    // ov_tensor.h
    public readonly delegate* unmanaged<uint, ov_shape_t, void*, nint*, OvStatus> ov_tensor_create_from_host_ptr; // (const ov_element_type_e, const ov_shape_t (by value), void* host_ptr, ov_tensor_t**)
    public readonly delegate* unmanaged<uint, ov_shape_t, nint*, OvStatus> ov_tensor_create;    // (const ov_element_type_e, const ov_shape_t (by value), ov_tensor_t**)
    public readonly delegate* unmanaged<nint, void**, OvStatus> ov_tensor_data;                 // (const ov_tensor_t*, void**) borrowed
    public readonly delegate* unmanaged<nint, nuint*, OvStatus> ov_tensor_get_byte_size;        // (const ov_tensor_t*, size_t*)
    public readonly delegate* unmanaged<nint, void> ov_tensor_free;                             // (ov_tensor_t*)

    // ov_infer_request.h
    public readonly delegate* unmanaged<nint, nuint, nint, OvStatus> ov_infer_request_set_input_tensor_by_index;  // (ov_infer_request_t*, size_t, const ov_tensor_t*)
    public readonly delegate* unmanaged<nint, nuint, nint*, OvStatus> ov_infer_request_get_output_tensor_by_index; // (const ov_infer_request_t*, size_t, ov_tensor_t**) a new wrapper: free with ov_tensor_free
    public readonly delegate* unmanaged<nint, OvStatus> ov_infer_request_infer;                 // (ov_infer_request_t*)
    public readonly delegate* unmanaged<nint, void> ov_infer_request_free;

    /// <summary>Every export above except the optional ones.</summary>
    public static readonly string[] RequiredExports =
    [
        "ov_get_error_info", "ov_free", "ov_get_openvino_version", "ov_version_free", "ov_core_create", "ov_core_free",
        "ov_core_get_available_devices", "ov_available_devices_free", "ov_core_get_property", "ov_core_read_model",
        "ov_core_compile_model", "ov_model_free", "ov_model_inputs_size", "ov_model_outputs_size",
        "ov_model_const_input_by_index", "ov_model_const_output_by_index", "ov_model_reshape_by_port_indexes",
        "ov_port_get_any_name", "ov_port_get_partial_shape", "ov_port_get_element_type", "ov_const_port_get_shape",
        "ov_output_const_port_free", "ov_partial_shape_create", "ov_partial_shape_free", "ov_shape_create", "ov_shape_free",
        "ov_preprocess_prepostprocessor_create", "ov_preprocess_prepostprocessor_free",
        "ov_preprocess_prepostprocessor_get_input_info_by_index", "ov_preprocess_input_info_free",
        "ov_preprocess_input_info_get_tensor_info", "ov_preprocess_input_tensor_info_free",
        "ov_preprocess_input_tensor_info_set_element_type", "ov_preprocess_prepostprocessor_get_output_info_by_index",
        "ov_preprocess_output_info_free", "ov_preprocess_output_info_get_tensor_info", "ov_preprocess_output_tensor_info_free",
        "ov_preprocess_output_set_element_type", "ov_preprocess_prepostprocessor_build", "ov_compiled_model_inputs_size",
        "ov_compiled_model_outputs_size", "ov_compiled_model_input_by_index", "ov_compiled_model_output_by_index",
        "ov_compiled_model_create_infer_request", "ov_compiled_model_free", "ov_tensor_create_from_host_ptr",
        "ov_tensor_create", "ov_tensor_data", "ov_tensor_get_byte_size", "ov_tensor_free",
        "ov_infer_request_set_input_tensor_by_index", "ov_infer_request_get_output_tensor_by_index",
        "ov_infer_request_infer", "ov_infer_request_free",
    ];

    /// <summary>Resolves every export of <paramref name="lib"/>; the caller has checked that none is missing.</summary>
    public OvNative(nint lib)
    {
        nint E(string name) => NativeLibrary.GetExport(lib, name);
        ov_get_error_info = (delegate* unmanaged<OvStatus, byte*>)E("ov_get_error_info");
        ov_free = (delegate* unmanaged<byte*, void>)E("ov_free");
        ov_get_last_err_msg = NativeLibrary.TryGetExport(lib, "ov_get_last_err_msg", out nint last)
            ? (delegate* unmanaged<byte*>)last : null;
        ov_get_openvino_version = (delegate* unmanaged<ov_version_t*, OvStatus>)E("ov_get_openvino_version");
        ov_version_free = (delegate* unmanaged<ov_version_t*, void>)E("ov_version_free");
        ov_core_create = (delegate* unmanaged<nint*, OvStatus>)E("ov_core_create");
        ov_core_free = (delegate* unmanaged<nint, void>)E("ov_core_free");
        ov_core_get_available_devices = (delegate* unmanaged<nint, ov_available_devices_t*, OvStatus>)E("ov_core_get_available_devices");
        ov_available_devices_free = (delegate* unmanaged<ov_available_devices_t*, void>)E("ov_available_devices_free");
        ov_core_get_property = (delegate* unmanaged<nint, byte*, byte*, byte**, OvStatus>)E("ov_core_get_property");
        ov_core_read_model = (delegate* unmanaged<nint, byte*, byte*, nint*, OvStatus>)E("ov_core_read_model");
        nint compile = E("ov_core_compile_model");
        ov_core_compile_model_0 = (delegate* unmanaged<nint, nint, byte*, nuint, nint*, OvStatus>)compile;
        ov_core_compile_model_1 = (delegate* unmanaged<nint, nint, byte*, nuint, nint*, byte*, byte*, OvStatus>)compile;
        ov_core_compile_model_2 = (delegate* unmanaged<nint, nint, byte*, nuint, nint*, byte*, byte*, byte*, byte*, OvStatus>)compile;
        ov_model_free = (delegate* unmanaged<nint, void>)E("ov_model_free");
        ov_model_inputs_size = (delegate* unmanaged<nint, nuint*, OvStatus>)E("ov_model_inputs_size");
        ov_model_outputs_size = (delegate* unmanaged<nint, nuint*, OvStatus>)E("ov_model_outputs_size");
        ov_model_const_input_by_index = (delegate* unmanaged<nint, nuint, nint*, OvStatus>)E("ov_model_const_input_by_index");
        ov_model_const_output_by_index = (delegate* unmanaged<nint, nuint, nint*, OvStatus>)E("ov_model_const_output_by_index");
        ov_model_reshape_by_port_indexes = (delegate* unmanaged<nint, nuint*, ov_partial_shape_t*, nuint, OvStatus>)E("ov_model_reshape_by_port_indexes");
        ov_port_get_any_name = (delegate* unmanaged<nint, byte**, OvStatus>)E("ov_port_get_any_name");
        ov_port_get_partial_shape = (delegate* unmanaged<nint, ov_partial_shape_t*, OvStatus>)E("ov_port_get_partial_shape");
        ov_port_get_element_type = (delegate* unmanaged<nint, uint*, OvStatus>)E("ov_port_get_element_type");
        ov_const_port_get_shape = (delegate* unmanaged<nint, ov_shape_t*, OvStatus>)E("ov_const_port_get_shape");
        ov_output_const_port_free = (delegate* unmanaged<nint, void>)E("ov_output_const_port_free");
        ov_partial_shape_create = (delegate* unmanaged<long, ov_dimension_t*, ov_partial_shape_t*, OvStatus>)E("ov_partial_shape_create");
        ov_partial_shape_free = (delegate* unmanaged<ov_partial_shape_t*, void>)E("ov_partial_shape_free");
        ov_shape_create = (delegate* unmanaged<long, long*, ov_shape_t*, OvStatus>)E("ov_shape_create");
        ov_shape_free = (delegate* unmanaged<ov_shape_t*, OvStatus>)E("ov_shape_free");
        ov_preprocess_prepostprocessor_create = (delegate* unmanaged<nint, nint*, OvStatus>)E("ov_preprocess_prepostprocessor_create");
        ov_preprocess_prepostprocessor_free = (delegate* unmanaged<nint, void>)E("ov_preprocess_prepostprocessor_free");
        ov_preprocess_prepostprocessor_get_input_info_by_index = (delegate* unmanaged<nint, nuint, nint*, OvStatus>)E("ov_preprocess_prepostprocessor_get_input_info_by_index");
        ov_preprocess_input_info_free = (delegate* unmanaged<nint, void>)E("ov_preprocess_input_info_free");
        ov_preprocess_input_info_get_tensor_info = (delegate* unmanaged<nint, nint*, OvStatus>)E("ov_preprocess_input_info_get_tensor_info");
        ov_preprocess_input_tensor_info_free = (delegate* unmanaged<nint, void>)E("ov_preprocess_input_tensor_info_free");
        ov_preprocess_input_tensor_info_set_element_type = (delegate* unmanaged<nint, uint, OvStatus>)E("ov_preprocess_input_tensor_info_set_element_type");
        ov_preprocess_prepostprocessor_get_output_info_by_index = (delegate* unmanaged<nint, nuint, nint*, OvStatus>)E("ov_preprocess_prepostprocessor_get_output_info_by_index");
        ov_preprocess_output_info_free = (delegate* unmanaged<nint, void>)E("ov_preprocess_output_info_free");
        ov_preprocess_output_info_get_tensor_info = (delegate* unmanaged<nint, nint*, OvStatus>)E("ov_preprocess_output_info_get_tensor_info");
        ov_preprocess_output_tensor_info_free = (delegate* unmanaged<nint, void>)E("ov_preprocess_output_tensor_info_free");
        ov_preprocess_output_set_element_type = (delegate* unmanaged<nint, uint, OvStatus>)E("ov_preprocess_output_set_element_type");
        ov_preprocess_prepostprocessor_build = (delegate* unmanaged<nint, nint*, OvStatus>)E("ov_preprocess_prepostprocessor_build");
        ov_compiled_model_inputs_size = (delegate* unmanaged<nint, nuint*, OvStatus>)E("ov_compiled_model_inputs_size");
        ov_compiled_model_outputs_size = (delegate* unmanaged<nint, nuint*, OvStatus>)E("ov_compiled_model_outputs_size");
        ov_compiled_model_input_by_index = (delegate* unmanaged<nint, nuint, nint*, OvStatus>)E("ov_compiled_model_input_by_index");
        ov_compiled_model_output_by_index = (delegate* unmanaged<nint, nuint, nint*, OvStatus>)E("ov_compiled_model_output_by_index");
        ov_compiled_model_create_infer_request = (delegate* unmanaged<nint, nint*, OvStatus>)E("ov_compiled_model_create_infer_request");
        ov_compiled_model_free = (delegate* unmanaged<nint, void>)E("ov_compiled_model_free");
        ov_tensor_create_from_host_ptr = (delegate* unmanaged<uint, ov_shape_t, void*, nint*, OvStatus>)E("ov_tensor_create_from_host_ptr");
        ov_tensor_create = (delegate* unmanaged<uint, ov_shape_t, nint*, OvStatus>)E("ov_tensor_create");
        ov_tensor_data = (delegate* unmanaged<nint, void**, OvStatus>)E("ov_tensor_data");
        ov_tensor_get_byte_size = (delegate* unmanaged<nint, nuint*, OvStatus>)E("ov_tensor_get_byte_size");
        ov_tensor_free = (delegate* unmanaged<nint, void>)E("ov_tensor_free");
        ov_infer_request_set_input_tensor_by_index = (delegate* unmanaged<nint, nuint, nint, OvStatus>)E("ov_infer_request_set_input_tensor_by_index");
        ov_infer_request_get_output_tensor_by_index = (delegate* unmanaged<nint, nuint, nint*, OvStatus>)E("ov_infer_request_get_output_tensor_by_index");
        ov_infer_request_infer = (delegate* unmanaged<nint, OvStatus>)E("ov_infer_request_infer");
        ov_infer_request_free = (delegate* unmanaged<nint, void>)E("ov_infer_request_free");
    }
}
