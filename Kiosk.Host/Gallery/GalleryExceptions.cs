namespace Kiosk.Host.Gallery;

/// <summary>
/// The gallery's key is missing, malformed, too widely readable, or does not open this gallery.
/// Messages name where the key came from, never the key itself.
/// </summary>
public sealed class GalleryKeyException(string message) : Exception(message);

/// <summary>
/// Any other gallery failure: a schema newer than this program, a constraint (the message names the field),
/// a damaged file or blob, an export file that does not open, SQLite refusing (busy, disk full).
/// </summary>
public sealed class GalleryException : Exception
{
    public GalleryException(string message) : base(message) { }
    public GalleryException(string message, Exception inner) : base(message, inner) { }
}
