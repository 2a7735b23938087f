using Kiosk.Host.Mqtt;
using Microsoft.Extensions.Logging;

namespace Kiosk.Tests.Mqtt;

/// <summary>Stops and restarts its own broker, so it does not share the class fixture of <see cref="MqttClientTests"/>.</summary>
[Collection(MqttCollection.Name)]
public sealed class MqttPublishAckTests
{
    [Fact]
    public async Task PublishAsync_completes_only_after_the_broker_is_back_and_acknowledged_the_message()
    {
        using var broker = new MosquittoBroker();
        var log = new CapturingLogger<MqttClient>();
        string topic = MqttTest.Topic("puback");
        await using var client = new MqttClient(MqttTest.Options(broker, "ack-" + Guid.NewGuid().ToString("N")[..8]), log);
        var disconnected = new TaskCompletionSource<MqttConnectionFailure>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.Disconnected += f => disconnected.TrySetResult(f);
        client.Start();
        await client.WaitConnectedAsync().WaitAsync(MqttTest.Timeout);
        await client.PublishAsync(topic, "before"u8.ToArray(), qos: 1).WaitAsync(MqttTest.Timeout);

        broker.Stop();
        var lost = await disconnected.Task.WaitAsync(MqttTest.Timeout);
        Assert.NotEqual(0, lost.Code);
        Assert.False(client.IsConnected);

        Task publish = client.PublishAsync(topic, "during the outage"u8.ToArray(), qos: 1);
        await Task.Delay(TimeSpan.FromSeconds(2.5)); // more than ReconnectMax: at least one reconnect attempt failed meanwhile
        Assert.False(publish.IsCompleted, "PublishAsync completed while the broker was down");

        broker.Start();
        await publish.WaitAsync(MqttTest.Timeout);
        Assert.True(client.IsConnected);
        Assert.Equal(1, log.Count(6004, LogLevel.Warning));    // the loss, once
        Assert.Equal(1, log.Count(6003, LogLevel.Information)); // the recovery
    }

    [Fact]
    public async Task Qos0_while_disconnected_is_refused_with_the_library_error()
    {
        using var broker = new MosquittoBroker();
        await using var client = new MqttClient(MqttTest.Options(broker, "q0-" + Guid.NewGuid().ToString("N")[..8]));
        client.Start();
        await client.WaitConnectedAsync().WaitAsync(MqttTest.Timeout);
        var disconnected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        client.Disconnected += _ => disconnected.TrySetResult();
        broker.Stop();
        await disconnected.Task.WaitAsync(MqttTest.Timeout);

        var e = Assert.Throws<MqttException>(() => { _ = client.PublishAsync("kiosk-test/q0", "x"u8.ToArray(), qos: 0); });
        Assert.Equal(4, e.ErrorCode); // MOSQ_ERR_NO_CONN
        Assert.Contains("not currently connected", e.Message); // mosquitto_strerror's text
    }

    [Fact]
    public async Task A_subscription_made_before_connecting_is_made_on_connect_and_again_after_the_broker_restarts()
    {
        using var broker = new MosquittoBroker();
        string topic = MqttTest.Topic("resubscribe");
        await using var subscriber = new MqttClient(MqttTest.Options(broker, "rs-" + Guid.NewGuid().ToString("N")[..8]));
        await using var publisher = new MqttClient(MqttTest.Options(broker, "rp-" + Guid.NewGuid().ToString("N")[..8]));
        Task subscribed = subscriber.SubscribeAsync(topic, 1); // not started yet: made on the first connection
        Assert.False(subscribed.IsCompleted);
        subscriber.Start();
        publisher.Start();
        await subscribed.WaitAsync(MqttTest.Timeout);
        await publisher.WaitConnectedAsync().WaitAsync(MqttTest.Timeout);
        await publisher.PublishAsync(topic, "first"u8.ToArray()).WaitAsync(MqttTest.Timeout);
        Assert.Equal("first"u8.ToArray(), (await MqttTest.NextMessageAsync(subscriber)).Payload);

        broker.Stop();
        var gone = DateTime.UtcNow + MqttTest.Timeout;
        while ((subscriber.IsConnected || publisher.IsConnected) && DateTime.UtcNow < gone) await Task.Delay(50);
        broker.Start();
        await subscriber.WaitConnectedAsync().WaitAsync(MqttTest.Timeout);
        await publisher.WaitConnectedAsync().WaitAsync(MqttTest.Timeout);

        // The broker handles the two connections independently: publish until the renewed subscription sees one.
        using var cts = new CancellationTokenSource(MqttTest.Timeout);
        Task<MqttMessage> next = subscriber.Messages.ReadAsync(cts.Token).AsTask();
        while (!next.IsCompleted)
        {
            await publisher.PublishAsync(topic, "after restart"u8.ToArray()).WaitAsync(MqttTest.Timeout);
            await Task.WhenAny(next, Task.Delay(300, cts.Token));
        }
        Assert.Equal("after restart"u8.ToArray(), (await next).Payload);
    }
}
