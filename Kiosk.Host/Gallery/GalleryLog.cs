using Microsoft.Extensions.Logging;

namespace Kiosk.Host;

// The gallery's share of the project's one Log class: partial, so each concern keeps its messages in its own
// folder. Event ids 3000-3099 are the gallery's. Never a key, a vector or an image in a message.
internal static partial class Log
{
    [LoggerMessage(EventId = 3001, Level = LogLevel.Warning,
        Message = "Created a new gallery key at {KeyPath}: back it up now, the gallery cannot be opened without it")]
    public static partial void GalleryKeyCreated(ILogger logger, string keyPath);
}
