namespace Kiosk.Vision.Interop.TurboJpeg;

/// <summary>A failure reported by libturbojpeg, carrying its own message, or the library being absent.</summary>
public sealed class TurboJpegException : Exception
{
    public TurboJpegException(string message, bool isWarning = false, Exception? innerException = null)
        : base(message, innerException)
    {
        IsWarning = isWarning;
    }

    /// <summary>
    /// True when TurboJPEG classed the failure as TJERR_WARNING (e.g. "Premature end of JPEG file"):
    /// the data is damaged, even though libjpeg could have produced a partial image.
    /// </summary>
    public bool IsWarning { get; }
}
