/*
 * Compile-time check of every OpenVINO C API layout, enum value and function signature that the kiosk's C# binding
 * (Kiosk.Vision/Interop/OpenVino) assumes. Our own code: it only includes OpenVINO's public header.
 *
 * Run through scripts/check-openvino-abi.sh, which passes OVK_RELEASE = year * 100 + release (202203 for 2022.3)
 * and compiles with -fsyntax-only -Werror=incompatible-pointer-types: a struct of another size or offset, an enum
 * value that moved, or a function whose signature differs from the C# declaration fails the build.
 *
 * The OVK_* expected values are kept in step with the C# constants; Kiosk.Tests/Inference/OpenVinoBindingTests.cs
 * reads the "#define OVK_" lines of this file and compares them with the binding.
 */
#include <stddef.h>
#include <stdint.h>
#include <openvino/c/openvino.h>

#ifndef OVK_RELEASE
#error "define OVK_RELEASE (e.g. -DOVK_RELEASE=202203 for 2022.3); scripts/check-openvino-abi.sh does"
#endif

#define OVK_ASSERT(cond, what) _Static_assert(cond, what)
#define OVK_IS(expr, type) _Generic((expr), type: 1, default: 0)

/* ---- struct layouts (OvNative.cs) ---- */
#define OVK_SIZEOF_OV_SHAPE_T 16
#define OVK_OFFSETOF_OV_SHAPE_T_DIMS 8
#define OVK_SIZEOF_OV_DIMENSION_T 16
#define OVK_OFFSETOF_OV_DIMENSION_T_MAX 8
#define OVK_SIZEOF_OV_PARTIAL_SHAPE_T 24
#define OVK_OFFSETOF_OV_PARTIAL_SHAPE_T_DIMS 16
#define OVK_SIZEOF_OV_VERSION_T 16
#define OVK_OFFSETOF_OV_VERSION_T_DESCRIPTION 8
#define OVK_SIZEOF_OV_AVAILABLE_DEVICES_T 16
#define OVK_OFFSETOF_OV_AVAILABLE_DEVICES_T_SIZE 8

OVK_ASSERT(sizeof(ov_shape_t) == OVK_SIZEOF_OV_SHAPE_T, "ov_shape_t size");
OVK_ASSERT(offsetof(ov_shape_t, rank) == 0, "ov_shape_t.rank offset");
OVK_ASSERT(offsetof(ov_shape_t, dims) == OVK_OFFSETOF_OV_SHAPE_T_DIMS, "ov_shape_t.dims offset");
OVK_ASSERT(OVK_IS(((ov_shape_t*)0)->rank, int64_t), "ov_shape_t.rank is int64_t (C# long)");
OVK_ASSERT(OVK_IS(((ov_shape_t*)0)->dims, int64_t*), "ov_shape_t.dims is int64_t* (C# long*)");

OVK_ASSERT(sizeof(ov_dimension_t) == OVK_SIZEOF_OV_DIMENSION_T, "ov_dimension_t size");
OVK_ASSERT(offsetof(ov_dimension_t, min) == 0, "ov_dimension_t.min offset");
OVK_ASSERT(offsetof(ov_dimension_t, max) == OVK_OFFSETOF_OV_DIMENSION_T_MAX, "ov_dimension_t.max offset");
OVK_ASSERT(OVK_IS(((ov_dimension_t*)0)->min, int64_t) && OVK_IS(((ov_dimension_t*)0)->max, int64_t), "ov_dimension_t fields are int64_t");
OVK_ASSERT(sizeof(ov_rank_t) == OVK_SIZEOF_OV_DIMENSION_T, "ov_rank_t is an ov_dimension_t");
OVK_ASSERT(OVK_IS(*(ov_rank_t*)0, ov_dimension_t), "ov_rank_t is the same type as ov_dimension_t");

OVK_ASSERT(sizeof(ov_partial_shape_t) == OVK_SIZEOF_OV_PARTIAL_SHAPE_T, "ov_partial_shape_t size");
OVK_ASSERT(offsetof(ov_partial_shape_t, rank) == 0, "ov_partial_shape_t.rank offset");
OVK_ASSERT(offsetof(ov_partial_shape_t, dims) == OVK_OFFSETOF_OV_PARTIAL_SHAPE_T_DIMS, "ov_partial_shape_t.dims offset");
OVK_ASSERT(OVK_IS(((ov_partial_shape_t*)0)->rank, ov_rank_t), "ov_partial_shape_t.rank is ov_rank_t");
OVK_ASSERT(OVK_IS(((ov_partial_shape_t*)0)->dims, ov_dimension_t*), "ov_partial_shape_t.dims is ov_dimension_t*");

OVK_ASSERT(sizeof(ov_version_t) == OVK_SIZEOF_OV_VERSION_T, "ov_version_t size");
OVK_ASSERT(offsetof(ov_version_t, buildNumber) == 0, "ov_version_t.buildNumber offset");
OVK_ASSERT(offsetof(ov_version_t, description) == OVK_OFFSETOF_OV_VERSION_T_DESCRIPTION, "ov_version_t.description offset");
OVK_ASSERT(OVK_IS(((ov_version_t*)0)->buildNumber, const char*), "ov_version_t.buildNumber is const char*");

OVK_ASSERT(sizeof(ov_available_devices_t) == OVK_SIZEOF_OV_AVAILABLE_DEVICES_T, "ov_available_devices_t size");
OVK_ASSERT(offsetof(ov_available_devices_t, devices) == 0, "ov_available_devices_t.devices offset");
OVK_ASSERT(offsetof(ov_available_devices_t, size) == OVK_OFFSETOF_OV_AVAILABLE_DEVICES_T_SIZE, "ov_available_devices_t.size offset");
OVK_ASSERT(OVK_IS(((ov_available_devices_t*)0)->devices, char**), "ov_available_devices_t.devices is char**");
OVK_ASSERT(OVK_IS(((ov_available_devices_t*)0)->size, size_t), "ov_available_devices_t.size is size_t");

/* ---- ov_status_e (OvStatus) ---- */
#define OVK_STATUS_OK 0
#define OVK_STATUS_GENERAL_ERROR -1
#define OVK_STATUS_NOT_IMPLEMENTED -2
#define OVK_STATUS_NETWORK_NOT_LOADED -3
#define OVK_STATUS_PARAMETER_MISMATCH -4
#define OVK_STATUS_NOT_FOUND -5
#define OVK_STATUS_OUT_OF_BOUNDS -6
#define OVK_STATUS_UNEXPECTED -7
#define OVK_STATUS_REQUEST_BUSY -8
#define OVK_STATUS_RESULT_NOT_READY -9
#define OVK_STATUS_NOT_ALLOCATED -10
#define OVK_STATUS_INFER_NOT_STARTED -11
#define OVK_STATUS_NETWORK_NOT_READ -12
#define OVK_STATUS_INFER_CANCELLED -13
#define OVK_STATUS_INVALID_C_PARAM -14
#define OVK_STATUS_UNKNOWN_C_ERROR -15
#define OVK_STATUS_NOT_IMPLEMENT_C_METHOD -16
#define OVK_STATUS_UNKNOW_EXCEPTION -17

OVK_ASSERT(sizeof(ov_status_e) == 4, "ov_status_e is int-sized (C# OvStatus : int)");
OVK_ASSERT(OK == OVK_STATUS_OK, "OK");
OVK_ASSERT(GENERAL_ERROR == OVK_STATUS_GENERAL_ERROR, "GENERAL_ERROR");
OVK_ASSERT(NOT_IMPLEMENTED == OVK_STATUS_NOT_IMPLEMENTED, "NOT_IMPLEMENTED");
OVK_ASSERT(NETWORK_NOT_LOADED == OVK_STATUS_NETWORK_NOT_LOADED, "NETWORK_NOT_LOADED");
OVK_ASSERT(PARAMETER_MISMATCH == OVK_STATUS_PARAMETER_MISMATCH, "PARAMETER_MISMATCH");
OVK_ASSERT(NOT_FOUND == OVK_STATUS_NOT_FOUND, "NOT_FOUND");
OVK_ASSERT(OUT_OF_BOUNDS == OVK_STATUS_OUT_OF_BOUNDS, "OUT_OF_BOUNDS");
OVK_ASSERT(UNEXPECTED == OVK_STATUS_UNEXPECTED, "UNEXPECTED");
OVK_ASSERT(REQUEST_BUSY == OVK_STATUS_REQUEST_BUSY, "REQUEST_BUSY");
OVK_ASSERT(RESULT_NOT_READY == OVK_STATUS_RESULT_NOT_READY, "RESULT_NOT_READY");
OVK_ASSERT(NOT_ALLOCATED == OVK_STATUS_NOT_ALLOCATED, "NOT_ALLOCATED");
OVK_ASSERT(INFER_NOT_STARTED == OVK_STATUS_INFER_NOT_STARTED, "INFER_NOT_STARTED");
OVK_ASSERT(NETWORK_NOT_READ == OVK_STATUS_NETWORK_NOT_READ, "NETWORK_NOT_READ");
OVK_ASSERT(INFER_CANCELLED == OVK_STATUS_INFER_CANCELLED, "INFER_CANCELLED");
OVK_ASSERT(INVALID_C_PARAM == OVK_STATUS_INVALID_C_PARAM, "INVALID_C_PARAM");
OVK_ASSERT(UNKNOWN_C_ERROR == OVK_STATUS_UNKNOWN_C_ERROR, "UNKNOWN_C_ERROR");
OVK_ASSERT(NOT_IMPLEMENT_C_METHOD == OVK_STATUS_NOT_IMPLEMENT_C_METHOD, "NOT_IMPLEMENT_C_METHOD");
OVK_ASSERT(UNKNOW_EXCEPTION == OVK_STATUS_UNKNOW_EXCEPTION, "UNKNOW_EXCEPTION");

/* ---- ov_element_type_e (OvElementTypes): three numberings in the supported range ---- */
#define OVK_F16_2022_3 4
#define OVK_F32_2022_3 5
#define OVK_U8_2022_3 14
#define OVK_F16_2024_2 4
#define OVK_F32_2024_2 5
#define OVK_U8_2024_2 17
#define OVK_F16_2025_1 3
#define OVK_F32_2025_1 4
#define OVK_U8_2025_1 16
/* The value OvLibrary probes with a one-element tensor: U64 (8 bytes), U8 (1 byte), U16 (2 bytes). */
#define OVK_PROBE_VALUE 17

OVK_ASSERT(sizeof(ov_element_type_e) == 4, "ov_element_type_e is 4 bytes (C# uint)");
OVK_ASSERT((ov_element_type_e)-1 > (ov_element_type_e)0, "ov_element_type_e is unsigned (C# uint)");
#if OVK_RELEASE < 202402
OVK_ASSERT(F16 == OVK_F16_2022_3 && F32 == OVK_F32_2022_3 && U8 == OVK_U8_2022_3, "2022.3-2024.1 numbering");
OVK_ASSERT(U64 == OVK_PROBE_VALUE, "probe value is U64 (8 bytes) in 2022.3-2024.1");
OVK_ASSERT(UNDEFINED == 0 && DYNAMIC == 1 && BOOLEAN == 2 && BF16 == 3 && F64 == 6 && I4 == 7 && I8 == 8 && I16 == 9 && I32 == 10 &&
           I64 == 11 && U1 == 12 && U4 == 13 && U16 == 15 && U32 == 16, "2022.3-2024.1 numbering (names in OvElementTypes)");
#elif OVK_RELEASE < 202501
OVK_ASSERT(F16 == OVK_F16_2024_2 && F32 == OVK_F32_2024_2 && U8 == OVK_U8_2024_2, "2024.2-2025.0 numbering");
OVK_ASSERT(U8 == OVK_PROBE_VALUE, "probe value is U8 (1 byte) in 2024.2-2025.0");
OVK_ASSERT(UNDEFINED == 0 && DYNAMIC == 1 && BOOLEAN == 2 && BF16 == 3 && F64 == 6 && I8 == 8 && I64 == 11 && U1 == 12 && U2 == 13 &&
           U3 == 14 && U4 == 15 && U6 == 16 && U16 == 18 && U32 == 19 && U64 == 20, "2024.2-2025.0 numbering (names in OvElementTypes)");
#else
OVK_ASSERT(F16 == OVK_F16_2025_1 && F32 == OVK_F32_2025_1 && U8 == OVK_U8_2025_1, "2025.1+ numbering");
OVK_ASSERT(U16 == OVK_PROBE_VALUE, "probe value is U16 (2 bytes) in 2025.1+");
OVK_ASSERT(DYNAMIC == 0 && BF16 == 2 && F64 == 5 && I8 == 7 && I64 == 10 && U1 == 11 && U4 == 14 && U64 == 19,
           "2025.1+ numbering (names in OvElementTypes)");
#endif

/* ---- functions: each assigned to a pointer of exactly the signature OvNative.cs declares ----
 * C# nint = the object pointer named here; nuint = size_t; long = int64_t; uint = ov_element_type_e;
 * OvStatus = ov_status_e; byte* = char* / const char*; byte (return) = bool. */
#define OVK_BIND(name, ret, ...) ret (*const ovk_##name)(__VA_ARGS__) = name;

OVK_BIND(ov_get_error_info, const char*, ov_status_e)
OVK_BIND(ov_free, void, const char*)
OVK_BIND(ov_get_openvino_version, ov_status_e, ov_version_t*)
OVK_BIND(ov_version_free, void, ov_version_t*)
OVK_BIND(ov_core_create, ov_status_e, ov_core_t**)
OVK_BIND(ov_core_free, void, ov_core_t*)
OVK_BIND(ov_core_get_available_devices, ov_status_e, const ov_core_t*, ov_available_devices_t*)
OVK_BIND(ov_available_devices_free, void, ov_available_devices_t*)
OVK_BIND(ov_core_get_property, ov_status_e, const ov_core_t*, const char*, const char*, char**)
OVK_BIND(ov_core_read_model, ov_status_e, const ov_core_t*, const char*, const char*, ov_model_t**)
/* variadic: property_args_size counts the (char* key, char* value) arguments that follow */
OVK_BIND(ov_core_compile_model, ov_status_e, const ov_core_t*, const ov_model_t*, const char*, const size_t, ov_compiled_model_t**, ...)
OVK_BIND(ov_model_free, void, ov_model_t*)
OVK_BIND(ov_model_inputs_size, ov_status_e, const ov_model_t*, size_t*)
OVK_BIND(ov_model_outputs_size, ov_status_e, const ov_model_t*, size_t*)
OVK_BIND(ov_model_const_input_by_index, ov_status_e, const ov_model_t*, const size_t, ov_output_const_port_t**)
OVK_BIND(ov_model_const_output_by_index, ov_status_e, const ov_model_t*, const size_t, ov_output_const_port_t**)
OVK_BIND(ov_model_reshape_by_port_indexes, ov_status_e, const ov_model_t*, const size_t*, const ov_partial_shape_t*, const size_t)
OVK_BIND(ov_port_get_any_name, ov_status_e, const ov_output_const_port_t*, char**)
OVK_BIND(ov_port_get_partial_shape, ov_status_e, const ov_output_const_port_t*, ov_partial_shape_t*)
OVK_BIND(ov_port_get_element_type, ov_status_e, const ov_output_const_port_t*, ov_element_type_e*)
OVK_BIND(ov_const_port_get_shape, ov_status_e, const ov_output_const_port_t*, ov_shape_t*)
OVK_BIND(ov_output_const_port_free, void, ov_output_const_port_t*)
OVK_BIND(ov_partial_shape_create, ov_status_e, const int64_t, const ov_dimension_t*, ov_partial_shape_t*)
OVK_BIND(ov_partial_shape_free, void, ov_partial_shape_t*)
OVK_BIND(ov_shape_create, ov_status_e, const int64_t, const int64_t*, ov_shape_t*)
OVK_BIND(ov_shape_free, ov_status_e, ov_shape_t*)
OVK_BIND(ov_preprocess_prepostprocessor_create, ov_status_e, const ov_model_t*, ov_preprocess_prepostprocessor_t**)
OVK_BIND(ov_preprocess_prepostprocessor_free, void, ov_preprocess_prepostprocessor_t*)
OVK_BIND(ov_preprocess_prepostprocessor_get_input_info_by_index, ov_status_e, const ov_preprocess_prepostprocessor_t*, const size_t, ov_preprocess_input_info_t**)
OVK_BIND(ov_preprocess_input_info_free, void, ov_preprocess_input_info_t*)
OVK_BIND(ov_preprocess_input_info_get_tensor_info, ov_status_e, const ov_preprocess_input_info_t*, ov_preprocess_input_tensor_info_t**)
OVK_BIND(ov_preprocess_input_tensor_info_free, void, ov_preprocess_input_tensor_info_t*)
OVK_BIND(ov_preprocess_input_tensor_info_set_element_type, ov_status_e, ov_preprocess_input_tensor_info_t*, const ov_element_type_e)
OVK_BIND(ov_preprocess_prepostprocessor_get_output_info_by_index, ov_status_e, const ov_preprocess_prepostprocessor_t*, const size_t, ov_preprocess_output_info_t**)
OVK_BIND(ov_preprocess_output_info_free, void, ov_preprocess_output_info_t*)
OVK_BIND(ov_preprocess_output_info_get_tensor_info, ov_status_e, const ov_preprocess_output_info_t*, ov_preprocess_output_tensor_info_t**)
OVK_BIND(ov_preprocess_output_tensor_info_free, void, ov_preprocess_output_tensor_info_t*)
OVK_BIND(ov_preprocess_output_set_element_type, ov_status_e, ov_preprocess_output_tensor_info_t*, const ov_element_type_e)
OVK_BIND(ov_preprocess_prepostprocessor_build, ov_status_e, const ov_preprocess_prepostprocessor_t*, ov_model_t**)
OVK_BIND(ov_compiled_model_inputs_size, ov_status_e, const ov_compiled_model_t*, size_t*)
OVK_BIND(ov_compiled_model_outputs_size, ov_status_e, const ov_compiled_model_t*, size_t*)
OVK_BIND(ov_compiled_model_input_by_index, ov_status_e, const ov_compiled_model_t*, const size_t, ov_output_const_port_t**)
OVK_BIND(ov_compiled_model_output_by_index, ov_status_e, const ov_compiled_model_t*, const size_t, ov_output_const_port_t**)
OVK_BIND(ov_compiled_model_create_infer_request, ov_status_e, const ov_compiled_model_t*, ov_infer_request_t**)
OVK_BIND(ov_compiled_model_free, void, ov_compiled_model_t*)
/* ov_shape_t by value: 16 bytes, two INTEGER eightbytes on x86-64 SysV and two x registers on AAPCS64 */
OVK_BIND(ov_tensor_create_from_host_ptr, ov_status_e, const ov_element_type_e, const ov_shape_t, void*, ov_tensor_t**)
OVK_BIND(ov_tensor_create, ov_status_e, const ov_element_type_e, const ov_shape_t, ov_tensor_t**)
OVK_BIND(ov_tensor_data, ov_status_e, const ov_tensor_t*, void**)
OVK_BIND(ov_tensor_get_byte_size, ov_status_e, const ov_tensor_t*, size_t*)
OVK_BIND(ov_tensor_free, void, ov_tensor_t*)
OVK_BIND(ov_infer_request_set_input_tensor_by_index, ov_status_e, ov_infer_request_t*, const size_t, const ov_tensor_t*)
OVK_BIND(ov_infer_request_get_output_tensor_by_index, ov_status_e, const ov_infer_request_t*, const size_t, ov_tensor_t**)
OVK_BIND(ov_infer_request_infer, ov_status_e, ov_infer_request_t*)
OVK_BIND(ov_infer_request_free, void, ov_infer_request_t*)

/* Optional export, bound with NativeLibrary.TryGetExport: absent from 2022.3, present from 2023.x. */
#if OVK_RELEASE >= 202301
OVK_BIND(ov_get_last_err_msg, const char*, void)
#endif
