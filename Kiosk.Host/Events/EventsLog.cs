using Kiosk.Host.Events;
using Microsoft.Extensions.Logging;

namespace Kiosk.Host;

// The event log's share of the project's one Log class. Event ids 4000-4099 are the event store's.
// Never a snapshot in a message.
internal static partial class Log
{
    [LoggerMessage(EventId = 4001, Level = LogLevel.Information,
        Message = "Event log {DatabasePath} opened: schema {SchemaVersion}, {Count} events, {Unsent} not yet sent")]
    public static partial void EventStoreOpened(ILogger logger, string databasePath, int schemaVersion, long count, long unsent);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Information,
        Message = "Event log {DatabasePath} migrated from schema {FromVersion} to {ToVersion}: {Description}")]
    public static partial void EventStoreMigrated(ILogger logger, string databasePath, int fromVersion, int toVersion, string description);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Warning,
        Message = "Event log {DatabasePath} holds {Unsent} events not yet sent, more than Events:MaxUnsentEvents ({Max}); " +
                  "none is deleted and new events are still written, but the file grows: is the MQTT broker reachable?")]
    public static partial void EventStoreOverCap(ILogger logger, string databasePath, long unsent, long max);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Information,
        Message = "Event log {DatabasePath} is back under Events:MaxUnsentEvents ({Max}): {Count} events")]
    public static partial void EventStoreBackUnderCap(ILogger logger, string databasePath, long count, long max);

    [LoggerMessage(EventId = 4005, Level = LogLevel.Debug,
        Message = "Event log: deleted {Count} sent events up to sequence {UpToSequence} to stay within Events:MaxUnsentEvents ({Max})")]
    public static partial void EventStorePruned(ILogger logger, int count, long upToSequence, long max);

    [LoggerMessage(EventId = 4006, Level = LogLevel.Warning,
        Message = "Event {EventId} was appended again with a different kind or time (stored {StoredKind} at {StoredUtc:o}, " +
                  "given {GivenKind} at {GivenUtc:o}); the stored one is kept. Event ids must be unique per event")]
    public static partial void EventIdReused(ILogger logger, Guid eventId, EventKind storedKind, DateTimeOffset storedUtc,
        EventKind givenKind, DateTimeOffset givenUtc);

    [LoggerMessage(EventId = 4007, Level = LogLevel.Error,
        Message = "Event log: a handler of EventStore.Appended threw for event {Sequence}; the event is stored")]
    public static partial void EventStoreAppendedHandlerFailed(ILogger logger, long sequence, Exception exception);
}
