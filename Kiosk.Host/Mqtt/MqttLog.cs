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
        Message = "MQTT: {Host}:{Port} {What}: {Reason}; libmosquitto does not retry this failure: correct the Mqtt settings " +
                  "(password, CaFile) or the broker, then restart the kiosk")]
    public static partial void MqttGaveUp(ILogger logger, string host, int port, string what, string reason);
}
