using Microsoft.Extensions.Logging;

namespace Kiosk.Host;

// Remote commands' share of the project's one Log class: event ids 6040-6069. Never a payload, an image, a vector or
// the key; request ids are checked printable ASCII before they are logged; people's names at Debug only.
internal static partial class Log
{
    [LoggerMessage(EventId = 6040, Level = LogLevel.Information,
        Message = "MQTT commands: listening on {Topic} (signed commands required: {RequireSigned}, signing key: {KeyConfigured}, open-door allowed: {AllowOpenDoor})")]
    public static partial void CommandsListening(ILogger logger, string topic, bool requireSigned, bool keyConfigured, bool allowOpenDoor);

    [LoggerMessage(EventId = 6041, Level = LogLevel.Warning,
        Message = "MQTT commands: Mqtt:RequireSignedCommands is on but Mqtt:CommandKeyFile is not set: every command will be refused " +
                  "(signature_required). Make a key with `kiosk command new-key --out FILE` and set Mqtt:CommandKeyFile")]
    public static partial void CommandsWithoutKey(ILogger logger);

    [LoggerMessage(EventId = 6042, Level = LogLevel.Warning,
        Message = "MQTT commands: Mqtt:RequireSignedCommands is off: whoever may publish to {Topic} can enroll and delete people" +
                  "{AndOpenDoor}. Restrict the topic with broker ACLs, or require signed commands")]
    public static partial void CommandsUnsigned(ILogger logger, string topic, string andOpenDoor);

    [LoggerMessage(EventId = 6043, Level = LogLevel.Information,
        Message = "MQTT command {Command} {RequestId} done (person {PersonUid})")]
    public static partial void CommandDone(ILogger logger, string command, string requestId, string? personUid);

    [LoggerMessage(EventId = 6044, Level = LogLevel.Information,
        Message = "MQTT command {Command} {RequestId} refused: {Code} (person {PersonUid})")]
    public static partial void CommandOutcome(ILogger logger, string command, string requestId, string code, string? personUid);

    [LoggerMessage(EventId = 6045, Level = LogLevel.Debug,
        Message = "MQTT command {Command} {RequestId}: person {PersonUid} is {PersonName}")]
    public static partial void CommandPersonName(ILogger logger, string command, string requestId, string personUid, string personName);

    [LoggerMessage(EventId = 6046, Level = LogLevel.Warning,
        Message = "MQTT commands: refused a command as {Code} (request {RequestId}){Suppressed}; is someone without the key publishing to the command topic, " +
                  "or is a clock wrong? Further refusals of this kind within a minute at Debug level")]
    public static partial void CommandUnauthenticated(ILogger logger, string code, string? requestId, string suppressed);

    [LoggerMessage(EventId = 6047, Level = LogLevel.Warning,
        Message = "MQTT commands: refused a malformed command as {Code} (request {RequestId}): {Reason}{Suppressed}. Further ones within a minute at Debug level")]
    public static partial void CommandMalformed(ILogger logger, string code, string? requestId, string reason, string suppressed);

    [LoggerMessage(EventId = 6048, Level = LogLevel.Debug, Message = "MQTT commands: refused a command as {Code} (request {RequestId}): {Reason}")]
    public static partial void CommandRefusedQuietly(ILogger logger, string code, string? requestId, string reason);

    [LoggerMessage(EventId = 6049, Level = LogLevel.Error,
        Message = "MQTT command {Command} {RequestId} failed on the kiosk; replied 'internal'")]
    public static partial void CommandFailed(ILogger logger, string command, string? requestId, Exception exception);

    [LoggerMessage(EventId = 6050, Level = LogLevel.Information,
        Message = "MQTT command {RequestId} came again (QoS 1 redelivery or a retry); its first reply is sent again, nothing is done twice")]
    public static partial void CommandRepeated(ILogger logger, string requestId);

    [LoggerMessage(EventId = 6051, Level = LogLevel.Warning,
        Message = "MQTT commands: the reply to {RequestId} on {Topic} could not be published: {Reason}")]
    public static partial void CommandReplyFailed(ILogger logger, string? requestId, string topic, string reason);

    [LoggerMessage(EventId = 6052, Level = LogLevel.Debug, Message = "MQTT commands: ignored a message on {Topic} (not the command topic)")]
    public static partial void CommandOtherTopic(ILogger logger, string topic);

    [LoggerMessage(EventId = 6053, Level = LogLevel.Error,
        Message = "MQTT commands: handling a message failed; the listener goes on")]
    public static partial void CommandListenerFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 6054, Level = LogLevel.Information,
        Message = "MQTT command open-door {RequestId}: door unlocked for {Pulse}")]
    public static partial void CommandOpenedDoor(ILogger logger, string requestId, TimeSpan pulse);

    [LoggerMessage(EventId = 6055, Level = LogLevel.Information, Message = "MQTT commands: stopped listening on {Topic}")]
    public static partial void CommandsStopped(ILogger logger, string topic);

    [LoggerMessage(EventId = 6056, Level = LogLevel.Error,
        Message = "MQTT commands: cannot subscribe to {Topic}; no command will be received")]
    public static partial void CommandsSubscribeFailed(ILogger logger, string topic, Exception exception);
}
