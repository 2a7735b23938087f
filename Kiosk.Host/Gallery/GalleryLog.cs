using Microsoft.Extensions.Logging;

namespace Kiosk.Host;

// The gallery's share of the project's one Log class: partial, so each concern keeps its messages in its own
// folder. Event ids 3000-3099 are the gallery's. Never a key, a vector or an image in a message.
internal static partial class Log
{
    [LoggerMessage(EventId = 3001, Level = LogLevel.Warning,
        Message = "Created a new gallery key at {KeyPath}: back it up now, the gallery cannot be opened without it")]
    public static partial void GalleryKeyCreated(ILogger logger, string keyPath);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Information, Message = "Gallery {DatabasePath} opened: schema {SchemaVersion}, key from {KeySource}")]
    public static partial void GalleryOpened(ILogger logger, string databasePath, int schemaVersion, string keySource);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Information,
        Message = "Gallery {DatabasePath} migrated from schema {FromVersion} to {ToVersion}: {Description}")]
    public static partial void GalleryMigrated(ILogger logger, string databasePath, int fromVersion, int toVersion, string description);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Information,
        Message = "Person {PersonId}: dropped {Count} lower-quality templates of model {ModelName}, keeping the best {Max}")]
    public static partial void GalleryTemplatesDropped(ILogger logger, long personId, int count, string modelName, int max);
}
