using Microsoft.Extensions.Logging;

namespace Kiosk.Host;

// The MQTT client's share of the project's one Log class. Event ids 6001-6099. Never a password, never a payload.
internal static partial class Log
{
    [LoggerMessage(EventId = 6001, Level = LogLevel.Information,
        Message = "MQTT: connecting to {Host}:{Port} as {ClientId} (MQTT {Protocol}, {Transport}, libmosquitto {LibraryVersion})")]
    public static partial void MqttConnecting(ILogger logger, string host, int port, string clientId, string protocol, string transport, string libraryVersion);

    [LoggerMessage(EventId = 6002, Level = LogLevel.Information, Message = "MQTT: connected to {Host}:{Port}")]
    public static partial void MqttConnected(ILogger logger, string host, int port);

    [LoggerMessage(EventId = 6003, Level = LogLevel.Information,
        Message = "MQTT: connected to {Host}:{Port} again after {Failures} failed attempts or losses")]
    public static partial void MqttRecovered(ILogger logger, string host, int port, int failures);

    [LoggerMessage(EventId = 6004, Level = LogLevel.Warning,
        Message = "MQTT: {Host}:{Port} {What}: {Reason}; retrying every {MinDelay} to {MaxDelay} (further failures at Debug level)")]
    public static partial void MqttFailure(ILogger logger, string host, int port, string what, string reason, TimeSpan minDelay, TimeSpan maxDelay);

    [LoggerMessage(EventId = 6005, Level = LogLevel.Debug, Message = "MQTT: {Host}:{Port} {What} again: {Reason} (failure {Count})")]
    public static partial void MqttFailureRepeated(ILogger logger, string host, int port, string what, string reason, int count);

    [LoggerMessage(EventId = 6006, Level = LogLevel.Information, Message = "MQTT: disconnected from {Host}:{Port}")]
    public static partial void MqttDisconnected(ILogger logger, string host, int port);

    [LoggerMessage(EventId = 6007, Level = LogLevel.Error,
        Message = "MQTT: a {Callback} handler threw; the network thread goes on")]
    public static partial void MqttHandlerFailed(ILogger logger, string callback, Exception exception);

    [LoggerMessage(EventId = 6008, Level = LogLevel.Warning,
        Message = "MQTT: the broker refused subscription {Topic} (granted QoS 0x80)")]
    public static partial void MqttSubscribeRefused(ILogger logger, string topic);

    [LoggerMessage(EventId = 6009, Level = LogLevel.Error,
        Message = "MQTT: {Host}:{Port} {What}: {Reason}; this will not pass by itself: correct the Mqtt settings (password, " +
                  "CaFile) or the broker. Retried with backoff meanwhile; repeats are logged at Debug")]
    public static partial void MqttGaveUp(ILogger logger, string host, int port, string what, string reason);

    // ---- EventPublisher: 6020-6039. Counts and sequences, never an event's content.

    [LoggerMessage(EventId = 6020, Level = LogLevel.Information,
        Message = "MQTT events: publishing the event log to {Topic} (Mqtt:EventWindow {Window}, Mqtt:EventPollInterval {PollInterval})")]
    public static partial void EventPublisherStarted(ILogger logger, string topic, int window, TimeSpan pollInterval);

    [LoggerMessage(EventId = 6021, Level = LogLevel.Information,
        Message = "MQTT events: publishing a backlog of {Count} events to {Topic}, from sequence {FirstSequence}")]
    public static partial void EventBacklogStarted(ILogger logger, long count, string topic, long firstSequence);

    [LoggerMessage(EventId = 6022, Level = LogLevel.Information,
        Message = "MQTT events: backlog published: {Published} events acknowledged in {Elapsed} ({Rate:F0} per second)")]
    public static partial void EventBacklogFinished(ILogger logger, long published, TimeSpan elapsed, double rate);

    [LoggerMessage(EventId = 6023, Level = LogLevel.Warning,
        Message = "MQTT events: not connected to the broker; {Pending} events wait in the event log ({InFlight} of them handed to " +
                  "libmosquitto, resent on reconnect); publishing resumes when the connection is back")]
    public static partial void EventPublisherWaiting(ILogger logger, long pending, int inFlight);

    [LoggerMessage(EventId = 6024, Level = LogLevel.Information,
        Message = "MQTT events: connected again; {Pending} events to publish")]
    public static partial void EventPublisherResumed(ILogger logger, long pending);

    [LoggerMessage(EventId = 6025, Level = LogLevel.Warning,
        Message = "MQTT events: {What} failed: {Reason}; the events stay in the event log, retrying every {RetryInterval} " +
                  "(further failures at Debug level)")]
    public static partial void EventPublisherFailed(ILogger logger, string what, string reason, TimeSpan retryInterval);

    [LoggerMessage(EventId = 6026, Level = LogLevel.Debug, Message = "MQTT events: {What} failed again: {Reason} (failure {Count})")]
    public static partial void EventPublisherFailedAgain(ILogger logger, string what, string reason, int count);

    [LoggerMessage(EventId = 6027, Level = LogLevel.Information, Message = "MQTT events: publishing works again after {Count} failures")]
    public static partial void EventPublisherRecovered(ILogger logger, int count);

    [LoggerMessage(EventId = 6028, Level = LogLevel.Information,
        Message = "MQTT events: publisher stopped after {Published} events acknowledged; {Pending} not yet sent, {InFlight} of them " +
                  "published but not acknowledged (published again at the next start; consumers deduplicate by id)")]
    public static partial void EventPublisherStopped(ILogger logger, long published, long pending, int inFlight);
}
