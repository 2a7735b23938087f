using Microsoft.Win32.SafeHandles;

namespace Kiosk.Vision.Interop.TurboJpeg;

/// <summary>Owns one TurboJPEG instance (compressor or decompressor); released with <c>tjDestroy</c>.</summary>
internal sealed class TurboJpegHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    public TurboJpegHandle() : base(ownsHandle: true)
    {
    }

    protected override bool ReleaseHandle() => TurboJpegNative.tjDestroy(handle) == 0;
}
