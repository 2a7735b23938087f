using Kiosk.Host.Fleet;
using Microsoft.Extensions.Logging;

namespace Kiosk.Host;

// The fleet gallery's share of the project's one Log class. Event ids 6100-6149. Never a key, a payload, a name
// or a vector: people are named by their uid.
internal static partial class Log
{
    [LoggerMessage(EventId = 6101, Level = LogLevel.Information,
        Message = "Fleet gallery: syncing {Filter} as {Origin} (site key fingerprint {Fingerprint}; Fleet:PollInterval {PollInterval})")]
    public static partial void FleetStarted(ILogger logger, string filter, string origin, string fingerprint, TimeSpan pollInterval);

    [LoggerMessage(EventId = 6102, Level = LogLevel.Information,
        Message = "Fleet gallery: applied {Count} site records ({Total} since start)")]
    public static partial void FleetAppliedBatch(ILogger logger, int count, long total);

    [LoggerMessage(EventId = 6103, Level = LogLevel.Debug, Message = "Fleet gallery: {Detail} (from {Origin})")]
    public static partial void FleetRecordApplied(ILogger logger, string detail, string origin);

    [LoggerMessage(EventId = 6104, Level = LogLevel.Warning,
        Message = "Fleet gallery: refused the message on {Topic} ({Reason}): {Detail}; nothing was changed " +
                  "({Suppressed} refusals since the last warning were logged at Debug level)")]
    public static partial void FleetRefused(ILogger logger, string topic, SiteMessageRefusal reason, string detail, long suppressed);

    [LoggerMessage(EventId = 6105, Level = LogLevel.Debug,
        Message = "Fleet gallery: refused the message on {Topic} ({Reason}): {Detail}; nothing was changed")]
    public static partial void FleetRefusedRepeated(ILogger logger, string topic, SiteMessageRefusal reason, string detail);

    [LoggerMessage(EventId = 6106, Level = LogLevel.Debug, Message = "Fleet gallery: {Topic} was cleared (an empty retained message); ignored")]
    public static partial void FleetCleared(ILogger logger, string topic);

    [LoggerMessage(EventId = 6107, Level = LogLevel.Warning, Message = "Fleet gallery: {Detail} (from {Origin}); retried when the gallery changes")]
    public static partial void FleetConflict(ILogger logger, string detail, string origin);

    [LoggerMessage(EventId = 6108, Level = LogLevel.Debug, Message = "Fleet gallery: {Detail} (from {Origin})")]
    public static partial void FleetStale(ILogger logger, string detail, string origin);

    [LoggerMessage(EventId = 6109, Level = LogLevel.Warning,
        Message = "Fleet gallery: the record on {Topic} could not be applied: {Reason}; retried every Fleet:PollInterval")]
    public static partial void FleetApplyFailed(ILogger logger, string topic, string reason);

    [LoggerMessage(EventId = 6110, Level = LogLevel.Debug,
        Message = "Fleet gallery: published person {Uid} at site revision {Revision}{Deleted} ({Bytes} bytes)")]
    public static partial void FleetPublished(ILogger logger, string uid, long revision, string deleted, int bytes);

    [LoggerMessage(EventId = 6111, Level = LogLevel.Information, Message = "Fleet gallery: published {Count} local changes to the site ({Total} since start)")]
    public static partial void FleetPublishedBatch(ILogger logger, int count, long total);

    [LoggerMessage(EventId = 6112, Level = LogLevel.Warning, Message = "Fleet gallery: publishing {Topic} failed: {Reason}; it is tried again")]
    public static partial void FleetPublishFailed(ILogger logger, string topic, string reason);

    [LoggerMessage(EventId = 6113, Level = LogLevel.Error,
        Message = "Fleet gallery: person {Uid} at site revision {Revision} makes a {Bytes}-byte message, more than Fleet:MaxPayloadBytes " +
                  "({Max}); it is not published (the other kiosks would refuse it): reduce their templates or raise the limit on every kiosk")]
    public static partial void FleetTooLargeToPublish(ILogger logger, string uid, long revision, int bytes, int max);

    [LoggerMessage(EventId = 6114, Level = LogLevel.Warning,
        Message = "Fleet gallery: the local changes to publish cannot be read: {Reason}; tried again every Fleet:PollInterval")]
    public static partial void FleetPendingFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 6115, Level = LogLevel.Error,
        Message = "Fleet gallery: the broker refused the subscription {Filter}: {Reason}; this kiosk cannot receive the site's gallery " +
                  "(check the broker's ACL for the kiosk's user)")]
    public static partial void FleetSubscribeFailed(ILogger logger, string filter, string reason);

    [LoggerMessage(EventId = 6116, Level = LogLevel.Debug,
        Message = "Fleet gallery: {Count} publications not acknowledged within {Timeout}; they complete when the connection is back")]
    public static partial void FleetPublishWaiting(ILogger logger, int count, TimeSpan timeout);

    [LoggerMessage(EventId = 6117, Level = LogLevel.Information,
        Message = "Fleet gallery: the broker sent no retained record of {Count} people or tombstones of this gallery (restarted without " +
                  "persistence, replaced, or a topic cleared); publishing them again")]
    public static partial void FleetRepublishing(ILogger logger, int count);
}
