namespace Kiosk.Vision.Imaging;

/// <summary>Container formats <see cref="ImageDecoder"/> recognises by their magic bytes.</summary>
public enum ImageFormat
{
    Unknown,
    Jpeg,
    Png,

    /// <summary>Netpbm family ("P1".."P6"); the decoder reads PGM/PPM (P2, P3, P5, P6).</summary>
    Pnm,

    /// <summary>RIFF/WEBP, still images (lossy or lossless).</summary>
    WebP,
}
