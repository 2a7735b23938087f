namespace Kiosk.Vision.Imaging;

/// <summary>Image data that cannot be decoded: missing file, unknown format, truncated or corrupt content, absurd size.</summary>
public sealed class ImageDecodeException : Exception
{
    public ImageDecodeException(string sourceName, string reason, Exception? innerException = null)
        : base($"Cannot decode image '{sourceName}': {reason}", innerException)
    {
        SourceName = sourceName;
        Reason = reason;
    }

    /// <summary>The file path or caller-supplied name of the data.</summary>
    public string SourceName { get; }

    /// <summary>Why decoding failed, without the source name.</summary>
    public string Reason { get; }

    /// <summary>
    /// The header declares more pixels than <see cref="ImageLimits"/> allow: the data may be fine, the picture is too
    /// big (a remote caller can be told to send a smaller one rather than that the data is broken).
    /// </summary>
    public bool ExceedsLimits { get; init; }
}
