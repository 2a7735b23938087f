using System.Runtime.InteropServices;

namespace Kiosk.Vision.Interop.TurboJpeg;

/// <summary>
/// Raw TurboJPEG 2.x API, declared from <c>turbojpeg.h</c> of libjpeg-turbo 2.1.5 (Debian libturbojpeg0-dev).
/// Only functions and constants that libjpeg-turbo 3.x still exports (its "backward compatibility" section)
/// are used, so the same binding works against libturbojpeg.so.0 from 2.1 and 3.x.
/// </summary>
/// <remarks>
/// C <c>unsigned long</c> is bound as <see cref="CULong"/> (64-bit on Linux LP64, 32-bit on Windows).
/// <c>tjhandle</c> is <c>void*</c>; ownership lives in <see cref="TurboJpegHandle"/>.
/// </remarks>
internal static unsafe partial class TurboJpegNative
{
    public const string LibraryName = "libturbojpeg.so.0";

    // enum TJPF
    public const int TJPF_BGR = 1;

    // enum TJSAMP
    public const int TJSAMP_444 = 0;
    public const int TJSAMP_422 = 1;
    public const int TJSAMP_420 = 2;
    public const int TJSAMP_GRAY = 3;

    // enum TJCS
    public const int TJCS_CMYK = 3;
    public const int TJCS_YCCK = 4;

    // flags
    public const int TJFLAG_ACCURATEDCT = 4096;
    public const int TJFLAG_STOPONWARNING = 8192;
    public const int TJFLAG_LIMITSCANS = 32768; // 2.1+: refuse progressive files with absurd scan counts

    // enum TJERR
    public const int TJERR_WARNING = 0;
    public const int TJERR_FATAL = 1;

    /// <returns>tjhandle (void*); invalid (NULL) on failure.</returns>
    [LibraryImport(LibraryName)]
    public static partial TurboJpegHandle tjInitDecompress();

    /// <returns>tjhandle (void*); invalid (NULL) on failure.</returns>
    [LibraryImport(LibraryName)]
    public static partial TurboJpegHandle tjInitCompress();

    [LibraryImport(LibraryName)]
    public static partial int tjDestroy(nint handle);

    /// <param name="jpegBuf">const unsigned char*</param>
    [LibraryImport(LibraryName)]
    public static partial int tjDecompressHeader3(
        TurboJpegHandle handle, byte* jpegBuf, CULong jpegSize,
        int* width, int* height, int* jpegSubsamp, int* jpegColorspace);

    /// <param name="jpegBuf">const unsigned char*</param>
    /// <param name="dstBuf">unsigned char*, at least pitch * height bytes</param>
    [LibraryImport(LibraryName)]
    public static partial int tjDecompress2(
        TurboJpegHandle handle, byte* jpegBuf, CULong jpegSize, byte* dstBuf,
        int width, int pitch, int height, int pixelFormat, int flags);

    /// <param name="srcBuf">const unsigned char*</param>
    /// <param name="jpegBuf">unsigned char**: in NULL, out a buffer owned by TurboJPEG, released with tjFree</param>
    /// <param name="jpegSize">unsigned long*</param>
    [LibraryImport(LibraryName)]
    public static partial int tjCompress2(
        TurboJpegHandle handle, byte* srcBuf, int width, int pitch, int height, int pixelFormat,
        byte** jpegBuf, CULong* jpegSize, int jpegSubsamp, int jpegQual, int flags);

    /// <param name="buffer">unsigned char* allocated by TurboJPEG</param>
    [LibraryImport(LibraryName)]
    public static partial void tjFree(byte* buffer);

    /// <returns>char* into the handle's own error buffer (borrowed: copy, never free).</returns>
    [LibraryImport(LibraryName)]
    public static partial byte* tjGetErrorStr2(TurboJpegHandle handle);

    /// <summary>Same as above for failures without a handle (tjInit*), where the message is thread-local.</summary>
    [LibraryImport(LibraryName, EntryPoint = "tjGetErrorStr2")]
    public static partial byte* tjGetErrorStr2Global(nint handleNull);

    [LibraryImport(LibraryName)]
    public static partial int tjGetErrorCode(TurboJpegHandle handle);
}
