using Microsoft.Win32.SafeHandles;

namespace Kiosk.Vision.Interop.OnnxRuntime;

// One sealed SafeHandle per owned native object; each releases through its own OrtApi slot.

internal sealed unsafe class OrtEnvHandle() : SafeHandleZeroOrMinusOneIsInvalid(true)
{
    protected override bool ReleaseHandle() { OrtLibrary.Api.ReleaseEnv(handle); return true; }
}

internal sealed unsafe class OrtSessionOptionsHandle() : SafeHandleZeroOrMinusOneIsInvalid(true)
{
    protected override bool ReleaseHandle() { OrtLibrary.Api.ReleaseSessionOptions(handle); return true; }
}

internal sealed unsafe class OrtSessionHandle() : SafeHandleZeroOrMinusOneIsInvalid(true)
{
    protected override bool ReleaseHandle() { OrtLibrary.Api.ReleaseSession(handle); return true; }
}

internal sealed unsafe class OrtValueHandle() : SafeHandleZeroOrMinusOneIsInvalid(true)
{
    protected override bool ReleaseHandle() { OrtLibrary.Api.ReleaseValue(handle); return true; }
}

internal sealed unsafe class OrtMemoryInfoHandle() : SafeHandleZeroOrMinusOneIsInvalid(true)
{
    protected override bool ReleaseHandle() { OrtLibrary.Api.ReleaseMemoryInfo(handle); return true; }
}

internal sealed unsafe class OrtTypeInfoHandle() : SafeHandleZeroOrMinusOneIsInvalid(true)
{
    protected override bool ReleaseHandle() { OrtLibrary.Api.ReleaseTypeInfo(handle); return true; }
}

internal sealed unsafe class OrtTensorTypeAndShapeInfoHandle() : SafeHandleZeroOrMinusOneIsInvalid(true)
{
    protected override bool ReleaseHandle() { OrtLibrary.Api.ReleaseTensorTypeAndShapeInfo(handle); return true; }
}
