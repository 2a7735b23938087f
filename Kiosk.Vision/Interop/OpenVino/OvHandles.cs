using Microsoft.Win32.SafeHandles;

namespace Kiosk.Vision.Interop.OpenVino;

// One sealed SafeHandle per owned native object; each frees through its own export of the loaded library.
// Borrowed pointers (ov_tensor_data, ov_get_error_info) are never wrapped.

/// <summary>ov_core_t*.</summary>
internal sealed unsafe class OvCoreHandle() : SafeHandleZeroOrMinusOneIsInvalid(true)
{
    protected override bool ReleaseHandle() { OvLibrary.ReleaseApi.ov_core_free(handle); return true; }
}

/// <summary>ov_model_t*.</summary>
internal sealed unsafe class OvModelHandle() : SafeHandleZeroOrMinusOneIsInvalid(true)
{
    protected override bool ReleaseHandle() { OvLibrary.ReleaseApi.ov_model_free(handle); return true; }
}

/// <summary>ov_compiled_model_t*.</summary>
internal sealed unsafe class OvCompiledModelHandle() : SafeHandleZeroOrMinusOneIsInvalid(true)
{
    protected override bool ReleaseHandle() { OvLibrary.ReleaseApi.ov_compiled_model_free(handle); return true; }
}

/// <summary>ov_infer_request_t*.</summary>
internal sealed unsafe class OvInferRequestHandle() : SafeHandleZeroOrMinusOneIsInvalid(true)
{
    protected override bool ReleaseHandle() { OvLibrary.ReleaseApi.ov_infer_request_free(handle); return true; }
}

/// <summary>ov_tensor_t* (the wrapper; a tensor over host memory does not own that memory).</summary>
internal sealed unsafe class OvTensorHandle() : SafeHandleZeroOrMinusOneIsInvalid(true)
{
    private static long _live;

    /// <summary>Tensors created through this handle and not yet freed, process-wide (for leak tests).</summary>
    internal static long Live => Interlocked.Read(ref _live);

    internal void Own(nint tensor)
    {
        System.Runtime.InteropServices.Marshal.InitHandle(this, tensor);
        Interlocked.Increment(ref _live);
    }

    protected override bool ReleaseHandle()
    {
        OvLibrary.ReleaseApi.ov_tensor_free(handle);
        Interlocked.Decrement(ref _live);
        return true;
    }
}

/// <summary>ov_output_const_port_t*.</summary>
internal sealed unsafe class OvPortHandle() : SafeHandleZeroOrMinusOneIsInvalid(true)
{
    protected override bool ReleaseHandle() { OvLibrary.ReleaseApi.ov_output_const_port_free(handle); return true; }
}

/// <summary>ov_preprocess_prepostprocessor_t*.</summary>
internal sealed unsafe class OvPrePostProcessorHandle() : SafeHandleZeroOrMinusOneIsInvalid(true)
{
    protected override bool ReleaseHandle() { OvLibrary.ReleaseApi.ov_preprocess_prepostprocessor_free(handle); return true; }
}

/// <summary>ov_preprocess_input_info_t*.</summary>
internal sealed unsafe class OvPreprocessInputInfoHandle() : SafeHandleZeroOrMinusOneIsInvalid(true)
{
    protected override bool ReleaseHandle() { OvLibrary.ReleaseApi.ov_preprocess_input_info_free(handle); return true; }
}

/// <summary>ov_preprocess_input_tensor_info_t*.</summary>
internal sealed unsafe class OvPreprocessInputTensorInfoHandle() : SafeHandleZeroOrMinusOneIsInvalid(true)
{
    protected override bool ReleaseHandle() { OvLibrary.ReleaseApi.ov_preprocess_input_tensor_info_free(handle); return true; }
}

/// <summary>ov_preprocess_output_info_t*.</summary>
internal sealed unsafe class OvPreprocessOutputInfoHandle() : SafeHandleZeroOrMinusOneIsInvalid(true)
{
    protected override bool ReleaseHandle() { OvLibrary.ReleaseApi.ov_preprocess_output_info_free(handle); return true; }
}

/// <summary>ov_preprocess_output_tensor_info_t*.</summary>
internal sealed unsafe class OvPreprocessOutputTensorInfoHandle() : SafeHandleZeroOrMinusOneIsInvalid(true)
{
    protected override bool ReleaseHandle() { OvLibrary.ReleaseApi.ov_preprocess_output_tensor_info_free(handle); return true; }
}
