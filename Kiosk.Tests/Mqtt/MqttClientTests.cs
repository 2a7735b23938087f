using System.Text;
using Kiosk.Host.Mqtt;
using Microsoft.Extensions.Logging;

namespace Kiosk.Tests.Mqtt;

[Collection(MqttCollection.Name)]
public sealed class MqttClientTests(MosquittoBroker broker) : IClassFixture<MosquittoBroker>
{
    [Fact]
    public async Task A_message_published_at_qos1_reaches_a_second_client_subscribed_with_the_password()
    {
        var log = new CapturingLogger<MqttClient>();
        string topic = MqttTest.Topic("roundtrip");
        await using var subscriber = new MqttClient(MqttTest.Options(broker, "sub-" + Guid.NewGuid().ToString("N")[..8]), log);
        await using var publisher = new MqttClient(MqttTest.Options(broker, "pub-" + Guid.NewGuid().ToString("N")[..8]), log);
        subscriber.Start();
        publisher.Start();
        await subscriber.WaitConnectedAsync().WaitAsync(MqttTest.Timeout);
        await subscriber.SubscribeAsync(topic, 1).WaitAsync(MqttTest.Timeout);
        await publisher.WaitConnectedAsync().WaitAsync(MqttTest.Timeout);

        byte[] payload = [0, 1, 2, 0xFF, .. Encoding.UTF8.GetBytes("granted")];
        await publisher.PublishAsync(topic, payload, qos: 1).WaitAsync(MqttTest.Timeout);
        var message = await MqttTest.NextMessageAsync(subscriber);

        Assert.Equal(topic, message.Topic);
        Assert.Equal(payload, message.Payload);
        Assert.Equal(1, message.Qos);
        Assert.False(message.Retain);
        Assert.Equal(2, log.Count(6002, LogLevel.Information));
        Assert.DoesNotContain(MosquittoBroker.Password, log.AllText);
    }

    [Fact]
    public async Task Mqtt5_connects_and_round_trips_too()
    {
        string topic = MqttTest.Topic("v5");
        await using var client = new MqttClient(MqttTest.Options(broker, "v5-" + Guid.NewGuid().ToString("N")[..8], protocol: 5));
        client.Start();
        await client.WaitConnectedAsync().WaitAsync(MqttTest.Timeout);
        await client.SubscribeAsync(topic, 1).WaitAsync(MqttTest.Timeout);
        await client.PublishAsync(topic, "hello"u8.ToArray(), qos: 1).WaitAsync(MqttTest.Timeout);
        Assert.Equal("hello"u8.ToArray(), (await MqttTest.NextMessageAsync(client)).Payload);
    }

    [Fact]
    public async Task The_tls_listener_accepts_a_client_that_trusts_the_generated_ca()
    {
        string topic = MqttTest.Topic("tls");
        var options = MqttTest.Options(broker, "tls-" + Guid.NewGuid().ToString("N")[..8], port: broker.TlsPort);
        options = new MqttOptions
        {
            Host = options.Host, Port = options.Port, ClientId = options.ClientId, Username = options.Username,
            Password = options.Password, CaFile = broker.CaFile, ReconnectMin = options.ReconnectMin, ReconnectMax = options.ReconnectMax,
        };
        await using var client = new MqttClient(options);
        client.Start();
        await client.WaitConnectedAsync().WaitAsync(MqttTest.Timeout);
        await client.SubscribeAsync(topic, 1).WaitAsync(MqttTest.Timeout);
        await client.PublishAsync(topic, "over tls"u8.ToArray(), qos: 1).WaitAsync(MqttTest.Timeout);
        Assert.Equal("over tls"u8.ToArray(), (await MqttTest.NextMessageAsync(client)).Payload);
    }

    [Fact]
    public async Task A_wrong_password_is_reported_as_not_authorised_and_retried_without_flooding_the_log()
    {
        const string wrong = "wrong-Pa55word-also-never-logged";
        var log = new CapturingLogger<MqttClient>();
        var options = MqttTest.Options(broker, "bad-" + Guid.NewGuid().ToString("N")[..8], password: wrong);
        options = new MqttOptions
        {
            Host = options.Host, Port = options.Port, ClientId = options.ClientId, Username = options.Username, Password = wrong,
            ReconnectMin = TimeSpan.FromSeconds(1), ReconnectMax = TimeSpan.FromSeconds(1),
        };
        var failures = new List<MqttConnectionFailure>();
        await using (var client = new MqttClient(options, log))
        {
            client.ConnectFailed += f => { lock (failures) failures.Add(f); };
            client.Start();
            var deadline = DateTime.UtcNow + MqttTest.Timeout;
            while (DateTime.UtcNow < deadline)
            {
                lock (failures) if (failures.Count >= 3) break;
                await Task.Delay(100);
            }
            Assert.False(client.IsConnected);
            Assert.NotNull(client.LastFailure);
            Assert.True(client.LastFailure!.IsNotAuthorized);
        }

        lock (failures)
        {
            Assert.True(failures.Count >= 3, $"expected at least 3 refused attempts, saw {failures.Count}");
            Assert.All(failures, f => Assert.True(f.IsNotAuthorized));
            Assert.All(failures, f => Assert.Contains("not authori", f.Reason, StringComparison.OrdinalIgnoreCase));
        }
        Assert.Equal(1, log.Count(6004, LogLevel.Warning));
        Assert.True(log.Count(6005, LogLevel.Debug) >= 2, log.AllText);
        Assert.Equal(0, log.Count(6007)); // nothing thrown on the network thread
        Assert.DoesNotContain(log.Entries, e => e.Level >= LogLevel.Error);
        Assert.DoesNotContain(wrong, log.AllText);
    }

    [Fact]
    public async Task The_last_will_is_published_when_the_connection_drops_without_disconnect_and_not_after_a_clean_disconnect()
    {
        string willTopic = MqttTest.Topic("will");
        await using var watcher = new MqttClient(MqttTest.Options(broker, "watch-" + Guid.NewGuid().ToString("N")[..8]));
        watcher.Start();
        await watcher.WaitConnectedAsync().WaitAsync(MqttTest.Timeout);
        await watcher.SubscribeAsync(willTopic, 1).WaitAsync(MqttTest.Timeout);

        // Clean: DISCONNECT is sent, the broker discards the will.
        await using (var clean = new MqttClient(MqttTest.Options(broker, "clean-" + Guid.NewGuid().ToString("N")[..8], willTopic: willTopic)))
        {
            clean.Start();
            await clean.WaitConnectedAsync().WaitAsync(MqttTest.Timeout);
        }
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => MqttTest.NextMessageAsync(watcher, TimeSpan.FromSeconds(1)));

        // Dropped: the socket closes with no DISCONNECT, as when the process is killed.
        await using var relay = new TcpRelay(broker.Port);
        await using var dying = new MqttClient(MqttTest.Options(broker, "dying-" + Guid.NewGuid().ToString("N")[..8], port: relay.Port, willTopic: willTopic));
        dying.Start();
        await dying.WaitConnectedAsync().WaitAsync(MqttTest.Timeout);
        relay.DropAll();

        var will = await MqttTest.NextMessageAsync(watcher);
        Assert.Equal(willTopic, will.Topic);
        Assert.Equal("offline"u8.ToArray(), will.Payload);
    }
}

[Collection(MqttCollection.Name)]
public sealed class MqttFatalFailureTests(MosquittoBroker broker) : IClassFixture<MosquittoBroker>
{
    [Fact]
    public async Task A_broker_certificate_from_another_ca_is_reported_as_a_tls_failure_not_thrown()
    {
        using var other = new MosquittoBroker(); // its CA did not sign this broker's certificate
        var log = new CapturingLogger<MqttClient>();
        var options = new MqttOptions
        {
            Host = MosquittoBroker.Host, Port = broker.TlsPort, ClientId = "tlsbad-" + Guid.NewGuid().ToString("N")[..8],
            Username = MosquittoBroker.Username, Password = MosquittoBroker.Password, CaFile = other.CaFile,
            ReconnectMin = TimeSpan.FromSeconds(1), ReconnectMax = TimeSpan.FromSeconds(1),
        };
        await using (var client = new MqttClient(options, log))
        {
            client.Start();
            var deadline = DateTime.UtcNow + MqttTest.Timeout;
            while (!log.AllText.Contains("certificate verify failed") && DateTime.UtcNow < deadline)
                await Task.Delay(100);
            await Task.Delay(TimeSpan.FromSeconds(2)); // further attempts, if any, must stay at Debug level
            Assert.False(client.IsConnected);
            Assert.NotNull(client.LastFailure);
        }
        // OpenSSL's own reason, once at Error (MOSQ_ERR_TLS ends libmosquitto's loop); the client started the loop
        // again and the handshake failed again, logged at Debug: it keeps trying, without filling the log.
        Assert.Contains("certificate verify failed", log.Entries.Single(e => e.Id == 6009 && e.Level == LogLevel.Error).Text);
        Assert.True(log.Entries.Count(e => e.Id == 6005 && e.Text.Contains("certificate verify failed")) >= 1, log.AllText);
        Assert.True(log.Count(6004) <= 1, log.AllText); // connect_async may have failed first, at Warning
        Assert.Equal(0, log.Count(6007));
    }

    [Fact]
    public async Task A_wrong_password_over_mqtt5_is_one_error_and_the_client_connects_by_itself_once_the_broker_accepts_it()
    {
        // libmosquitto 2.0 ends its network loop on an MQTT 5 refusal; the client starts it again with backoff, so
        // correcting the password on the broker is enough: no restart of the kiosk.
        const string wrong = "wrong-v5-Pa55word";
        string user = "late-" + Guid.NewGuid().ToString("N")[..8]; // not in the password file yet
        var log = new CapturingLogger<MqttClient>();
        var options = new MqttOptions
        {
            Host = MosquittoBroker.Host, Port = broker.Port, ClientId = "bad5-" + Guid.NewGuid().ToString("N")[..8],
            Username = user, Password = wrong, ProtocolVersion = 5,
            ReconnectMin = TimeSpan.FromSeconds(1), ReconnectMax = TimeSpan.FromSeconds(1),
        };
        var failed = new TaskCompletionSource<MqttConnectionFailure>(TaskCreationOptions.RunContinuationsAsynchronously);
        int refusals = 0;
        await using (var client = new MqttClient(options, log))
        {
            client.ConnectFailed += f => { Interlocked.Increment(ref refusals); failed.TrySetResult(f); };
            client.Start();
            var failure = await failed.Task.WaitAsync(MqttTest.Timeout);
            Assert.True(failure.IsNotAuthorized);
            Assert.Equal(135, failure.Code); // MQTT 5 "Not authorized"
            Assert.Contains("not authori", failure.Reason, StringComparison.OrdinalIgnoreCase);

            // Still refused a few seconds later: it kept trying (about once a second), one error in the log.
            var deadline = DateTime.UtcNow + MqttTest.Timeout;
            while (Volatile.Read(ref refusals) < 3 && DateTime.UtcNow < deadline) await Task.Delay(50);
            Assert.True(Volatile.Read(ref refusals) >= 3, $"{refusals} attempts");
            Assert.False(client.IsConnected);

            broker.SetPassword(user, wrong); // the administrator puts it right
            await client.WaitConnectedAsync(new CancellationTokenSource(MqttTest.Timeout).Token);
            Assert.Null(client.LastFailure);
        }
        Assert.Equal(1, log.Count(6009, LogLevel.Error));
        Assert.Equal(0, log.Count(6007));
        Assert.True(log.Entries.Count(e => e.Level >= LogLevel.Warning) <= 2, log.AllText);
        Assert.DoesNotContain(wrong, log.AllText);
    }
}
