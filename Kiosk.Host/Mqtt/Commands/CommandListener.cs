using System.Threading.Channels;
using Kiosk.Hardware.Door;
using Kiosk.Host.Events;
using Kiosk.Host.Gallery;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kiosk.Host.Mqtt.Commands;

/// <summary>
/// Takes commands from the kiosk's command topic (<see cref="KioskTopics.Commands"/>, QoS 1), runs each through a
/// <see cref="CommandProcessor"/> on a thread-pool task (never on libmosquitto's network thread, which only queues
/// the message), and publishes the reply at QoS 1. Nothing in a message stops it: a refusal is a reply, a failure
/// inside a command is logged and replied <c>internal</c>, and the loop goes on with the next message.
/// </summary>
/// <remarks>
/// Commands run one at a time, in arrival order. <see cref="MqttClient.Messages"/> is one channel for all of a
/// client's subscriptions: when something else subscribes on the same client, route the messages yourself and pass
/// this listener its own reader (<see cref="RunAsync(ChannelReader{MqttMessage}, CancellationToken)"/>); messages on
/// other topics reaching it are ignored.
/// </remarks>
public sealed class CommandListener : IDisposable
{
    /// <summary>How long a reply waits for the broker's PUBACK before the next command goes ahead (the reply stays queued).</summary>
    public static readonly TimeSpan ReplyAckTimeout = TimeSpan.FromSeconds(10);

    private readonly MqttClient _client;
    private readonly KioskTopics _topics;
    private readonly ILogger _logger;

    /// <exception cref="SettingsException">invalid options or an unusable key file (the message names the key)</exception>
    public CommandListener(MqttClient client, KioskTopics topics, GalleryService gallery, DoorController? door, EventStore events,
        CommandOptions options, ILogger<CommandListener>? logger = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        _client = client;
        _topics = topics;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        Processor = new CommandProcessor(gallery, topics, options, events, door, _logger, timeProvider);
    }

    public CommandProcessor Processor { get; }

    /// <summary>Subscribes to the command topic and handles the client's messages until cancelled.</summary>
    public Task RunAsync(CancellationToken cancellationToken) => RunAsync(_client.Messages, cancellationToken);

    /// <summary>
    /// Subscribes to the command topic and handles the messages of <paramref name="messages"/> until cancelled or
    /// the reader completes. The task faults only when the subscription is refused (a broker ACL): then no command
    /// can ever arrive, which the host should not hide.
    /// </summary>
    public Task RunAsync(ChannelReader<MqttMessage> messages, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(messages);
        // Task.Run: the first messages may already be waiting, and their work must not run on the caller's thread.
        return Task.Run(() => LoopAsync(messages, cancellationToken), CancellationToken.None);
    }

    private async Task LoopAsync(ChannelReader<MqttMessage> messages, CancellationToken ct)
    {
        string topic = _topics.Commands;
        try
        {
            // Remembered by the client and made again after every reconnect; while disconnected this waits for the connection.
            await _client.SubscribeAsync(topic, qos: 1, ct).ConfigureAwait(false);
        }
        catch (MqttException e)
        {
            Log.CommandsSubscribeFailed(_logger, topic, e);
            throw;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return;
        }
        var o = Processor.Options;
        Log.CommandsListening(_logger, topic, o.RequireSignedCommands, Processor.HasKey, o.AllowOpenDoor);
        try
        {
            while (await messages.WaitToReadAsync(ct).ConfigureAwait(false))
            {
                while (messages.TryRead(out var message))
                {
                    try
                    {
                        await HandleAsync(message, ct).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (ct.IsCancellationRequested)
                    {
                        throw;
                    }
                    catch (Exception e)
                    {
                        Log.CommandListenerFailed(_logger, e);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Stopping: the normal end.
        }
        Log.CommandsStopped(_logger, topic);
    }

    private async Task HandleAsync(MqttMessage message, CancellationToken ct)
    {
        if (message.Topic != _topics.Commands)
        {
            Log.CommandOtherTopic(_logger, message.Topic);
            return;
        }
        var reply = Processor.Process(message.Payload, message.Length, message.Retain);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(ReplyAckTimeout);
        try
        {
            await _client.PublishAsync(reply.Topic, reply.Payload, qos: 1, retain: false, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            Log.CommandReplyFailed(_logger, reply.RequestId, reply.Topic, $"no PUBACK within {ReplyAckTimeout}; it stays queued and goes out on reconnect");
        }
        catch (MqttException e)
        {
            Log.CommandReplyFailed(_logger, reply.RequestId, reply.Topic, e.Message);
        }
    }

    /// <summary>Forgets the signing key (zeroed). Stop <see cref="RunAsync(CancellationToken)"/> first.</summary>
    public void Dispose() => Processor.Dispose();
}
