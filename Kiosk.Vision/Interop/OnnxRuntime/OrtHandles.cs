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

/// <summary>
/// An OrtValue, and the pin of the managed memory it points into (if any): the pin is released only after the value,
/// so a value kept alive by a binding's add-ref can never point at memory the GC has moved or freed.
/// </summary>
internal sealed unsafe class OrtValueHandle() : SafeHandleZeroOrMinusOneIsInvalid(true)
{
    private static long _live;
    private System.Buffers.MemoryHandle _pin;

    /// <summary>OrtValues created and not yet released, process-wide (for leak tests).</summary>
    internal static long Live => Interlocked.Read(ref _live);

    /// <summary>Takes ownership of <paramref name="value"/> and of <paramref name="pin"/>.</summary>
    internal void Own(nint value, System.Buffers.MemoryHandle pin)
    {
        _pin = pin;
        System.Runtime.InteropServices.Marshal.InitHandle(this, value);
        Interlocked.Increment(ref _live);
    }

    protected override bool ReleaseHandle()
    {
        OrtLibrary.Api.ReleaseValue(handle);
        _pin.Dispose();
        Interlocked.Decrement(ref _live);
        return true;
    }
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
