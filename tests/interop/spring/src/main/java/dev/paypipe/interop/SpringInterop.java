package dev.paypipe.interop;

import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.springframework.context.annotation.AnnotationConfigApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.kafka.annotation.EnableKafka;
import org.springframework.kafka.annotation.KafkaListener;
import org.springframework.kafka.config.ConcurrentKafkaListenerContainerFactory;
import org.springframework.kafka.core.DefaultKafkaConsumerFactory;
import org.springframework.kafka.core.DefaultKafkaProducerFactory;
import org.springframework.kafka.core.KafkaTemplate;
import org.springframework.kafka.listener.ContainerProperties;
import org.springframework.kafka.listener.DefaultErrorHandler;
import org.springframework.kafka.support.Acknowledgment;
import org.springframework.kafka.support.KafkaHeaders;
import org.springframework.kafka.support.serializer.JsonDeserializer;
import org.springframework.kafka.support.serializer.JsonSerializer;
import org.springframework.messaging.handler.annotation.Header;
import org.springframework.util.backoff.FixedBackOff;

import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * The Spring services' side of tests/interop/spring_interop_test.cpp, in one JVM run:
 *
 * <ol>
 * <li>produces order.completed records with JsonSerializer, as a Spring order service
 * does: one with its __TypeId__ header, one without, one invalid (no items);</li>
 * <li>reads payment.completed records written by our producer with a @KafkaListener whose
 * JsonDeserializer instantiates the class named by __TypeId__, and payment.failed records
 * (no __TypeId__) with one whose JsonDeserializer has a default type;</li>
 * <li>reads our dead letters with a @KafkaListener that takes Spring's DLT headers
 * (KafkaHeaders.DLT_ORIGINAL_*) through Spring's own conversions.</li>
 * </ol>
 *
 * Or, for the takeover of a Spring service's group by our daemon, a Spring service that
 * handles and commits some records and stops: --produce-orders=k writes k valid orders
 * (products product-1..k, one unit each, keyed by order id) instead of the three above,
 * and --consume-topic with --consume-and-commit=n reads them in the consumer group
 * --group (exactly that name) and acknowledges (commits) the first n records only.
 *
 * Arguments are --name=value: bootstrap, produce-topic, product, produce-orders,
 * listen-topic, listen-default-type-topic, listen-count (records of both), dlt-topic,
 * dlt-count, consume-topic, consume-and-commit, group, timeout-seconds. Only the listeners
 * whose topic is given start. Prints one line per record (PRODUCED, LISTENED, DEAD-LETTER,
 * CONSUMED, FAILED) and exits 0 when every expected record was read in time.
 */
public final class SpringInterop {

	static final ObjectMapper JSON = new ObjectMapper();

	static CountDownLatch listened;

	static CountDownLatch deadLetters;

	static CountDownLatch toCommit;

	static volatile boolean failed;

	public static void main(String[] args) throws Exception {
		Map<String, String> options = new HashMap<>();
		for (String arg : args) {
			int eq = arg.indexOf('=');
			if (!arg.startsWith("--") || eq < 0) {
				throw new IllegalArgumentException("arguments are --name=value, got " + arg);
			}
			options.put(arg.substring(2, eq), arg.substring(eq + 1));
		}
		// The listeners' topics and group, as @KafkaListener placeholders resolve them.
		options.forEach((name, value) -> System.setProperty("interop." + name, value));
		for (String topic : List.of("listen-topic", "listen-default-type-topic", "dlt-topic", "consume-topic")) {
			System.setProperty("interop." + topic + ".start", String.valueOf(options.containsKey(topic)));
		}
		String bootstrap = options.get("bootstrap");
		if (options.containsKey("produce-orders")) {
			produceOrders(bootstrap, options.get("produce-topic"), options.get("product"),
					Integer.parseInt(options.get("produce-orders")));
		}
		else if (options.containsKey("produce-topic")) {
			produce(bootstrap, options.get("produce-topic"), options.get("product"));
		}
		listened = new CountDownLatch(Integer.parseInt(options.getOrDefault("listen-count", "0")));
		deadLetters = new CountDownLatch(Integer.parseInt(options.getOrDefault("dlt-count", "0")));
		toCommit = new CountDownLatch(Integer.parseInt(options.getOrDefault("consume-and-commit", "0")));
		long timeout = Long.parseLong(options.getOrDefault("timeout-seconds", "40"));
		boolean complete;
		try (var context = new AnnotationConfigApplicationContext(Listeners.class)) {
			long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeout);
			complete = listened.await(timeout, TimeUnit.SECONDS)
					&& deadLetters.await(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)
					&& toCommit.await(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
		}
		if (!complete) {
			System.out.println("TIMEOUT listened-missing=" + listened.getCount() + " dead-letters-missing="
					+ deadLetters.getCount() + " consumed-missing=" + toCommit.getCount());
		}
		System.out.flush();
		System.exit(complete && !failed ? 0 : 2);
	}

	/** A Spring producer with JsonSerializer: with __TypeId__, without, and an invalid event. */
	static void produce(String bootstrap, String topic, String product) throws Exception {
		Map<String, Object> config = Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
				ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class,
				ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, JsonSerializer.class, ProducerConfig.ACKS_CONFIG, "all");
		Map<String, Object> withoutTypeInfo = new HashMap<>(config);
		withoutTypeInfo.put(JsonSerializer.ADD_TYPE_INFO_HEADERS, false);
		var typed = new KafkaTemplate<String, Object>(new DefaultKafkaProducerFactory<>(config));
		var untyped = new KafkaTemplate<String, Object>(new DefaultKafkaProducerFactory<>(withoutTypeInfo));
		try {
			report(typed.send(topic, "spring-typed", order(product, 2)).get().getRecordMetadata(), "typed");
			report(untyped.send(topic, "spring-untyped", order(product, 3)).get().getRecordMetadata(), "untyped");
			var invalid = new OrderCompleted(UUID.randomUUID().toString(), "spring-user", null, 0, "KRW", "SHIPPING",
					UUID.randomUUID().toString(), Instant.now().toString());
			report(typed.send(topic, "spring-invalid", invalid).get().getRecordMetadata(), "invalid");
		}
		finally {
			typed.destroy();
			untyped.destroy();
		}
	}

	/** A Spring order service with JsonSerializer: `count` valid orders, one per product. */
	static void produceOrders(String bootstrap, String topic, String product, int count) throws Exception {
		var template = new KafkaTemplate<String, Object>(new DefaultKafkaProducerFactory<>(
				Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap, ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG,
						StringSerializer.class, ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, JsonSerializer.class,
						ProducerConfig.ACKS_CONFIG, "all")));
		try {
			for (int i = 1; i <= count; ++i) {
				var order = order(product + "-" + i, 1);
				report(template.send(topic, order.orderId(), order).get().getRecordMetadata(),
						"order " + product + "-" + i);
			}
		}
		finally {
			template.destroy();
		}
	}

	static OrderCompleted order(String product, int quantity) {
		return new OrderCompleted(UUID.randomUUID().toString(), "spring-user",
				List.of(new OrderCompleted.Item(product, quantity, 1000)), 1000L * quantity, "KRW", "SHIPPING",
				UUID.randomUUID().toString(), Instant.now().toString());
	}

	static void report(RecordMetadata sent, String what) {
		System.out.println("PRODUCED " + what + " " + sent.topic() + " " + sent.partition() + " " + sent.offset());
	}

	@Configuration
	@EnableKafka
	public static class Listeners {

		static Map<String, Object> consumerConfig() {
			return Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, System.getProperty("interop.bootstrap"),
					ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
		}

		/** JsonDeserializer as Spring services configure it: type from __TypeId__, trusted package. */
		@Bean
		public ConcurrentKafkaListenerContainerFactory<String, Object> jsonFactory() {
			var deserializer = new JsonDeserializer<Object>();
			deserializer.addTrustedPackages("dev.paypipe.interop");
			var factory = new ConcurrentKafkaListenerContainerFactory<String, Object>();
			factory.setConsumerFactory(
					new DefaultKafkaConsumerFactory<>(consumerConfig(), new StringDeserializer(), deserializer));
			factory.setCommonErrorHandler(reportingErrorHandler(() -> listened.countDown()));
			return factory;
		}

		/** JsonDeserializer with a default type: records without __TypeId__ become PaymentFailed. */
		@Bean
		public ConcurrentKafkaListenerContainerFactory<String, PaymentFailed> defaultTypeFactory() {
			var factory = new ConcurrentKafkaListenerContainerFactory<String, PaymentFailed>();
			factory.setConsumerFactory(new DefaultKafkaConsumerFactory<>(consumerConfig(), new StringDeserializer(),
					new JsonDeserializer<>(PaymentFailed.class)));
			factory.setCommonErrorHandler(reportingErrorHandler(() -> listened.countDown()));
			return factory;
		}

		/** The Spring service being replaced: JsonDeserializer, offsets committed when it acknowledges. */
		@Bean
		public ConcurrentKafkaListenerContainerFactory<String, Object> acknowledgingFactory() {
			var deserializer = new JsonDeserializer<Object>();
			deserializer.addTrustedPackages("dev.paypipe.interop");
			var factory = new ConcurrentKafkaListenerContainerFactory<String, Object>();
			factory.setConsumerFactory(
					new DefaultKafkaConsumerFactory<>(consumerConfig(), new StringDeserializer(), deserializer));
			factory.getContainerProperties().setAckMode(ContainerProperties.AckMode.MANUAL_IMMEDIATE);
			factory.setCommonErrorHandler(reportingErrorHandler(() -> toCommit.countDown()));
			return factory;
		}

		@Bean
		public ConcurrentKafkaListenerContainerFactory<String, String> stringFactory() {
			var factory = new ConcurrentKafkaListenerContainerFactory<String, String>();
			factory.setConsumerFactory(new DefaultKafkaConsumerFactory<>(consumerConfig(), new StringDeserializer(),
					new StringDeserializer()));
			factory.setCommonErrorHandler(reportingErrorHandler(() -> deadLetters.countDown()));
			return factory;
		}

		@KafkaListener(topics = "${interop.listen-topic:unused.listen}", groupId = "${interop.group}-listener",
				containerFactory = "jsonFactory", autoStartup = "${interop.listen-topic.start}")
		public void onPaymentCompleted(PaymentCompleted payment, @Header(KafkaHeaders.RECEIVED_KEY) String key) {
			onPayment(payment, key);
		}

		@KafkaListener(topics = "${interop.listen-default-type-topic:unused.default}",
				groupId = "${interop.group}-default-type", containerFactory = "defaultTypeFactory",
				autoStartup = "${interop.listen-default-type-topic.start}")
		public void onPaymentFailed(PaymentFailed payment, @Header(KafkaHeaders.RECEIVED_KEY) String key) {
			onPayment(payment, key);
		}

		void onPayment(Object payment, String key) {
			try {
				System.out.println("LISTENED " + payment.getClass().getName() + " key=" + key + " "
						+ JSON.writeValueAsString(payment));
			}
			catch (Exception e) {
				fail("listener", e);
			}
			listened.countDown();
		}

		@KafkaListener(topics = "${interop.dlt-topic:unused.dlt}", groupId = "${interop.group}-dlt",
				containerFactory = "stringFactory", autoStartup = "${interop.dlt-topic.start}")
		public void onDeadLetter(String value, @Header(KafkaHeaders.DLT_ORIGINAL_TOPIC) String topic,
				@Header(KafkaHeaders.DLT_ORIGINAL_PARTITION) int partition,
				@Header(KafkaHeaders.DLT_ORIGINAL_OFFSET) long offset,
				@Header(KafkaHeaders.DLT_ORIGINAL_TIMESTAMP) long timestamp,
				@Header(KafkaHeaders.DLT_ORIGINAL_TIMESTAMP_TYPE) String timestampType,
				@Header(KafkaHeaders.DLT_ORIGINAL_CONSUMER_GROUP) String group,
				@Header(KafkaHeaders.DLT_EXCEPTION_FQCN) String exceptionClass,
				@Header(KafkaHeaders.DLT_EXCEPTION_MESSAGE) String exceptionMessage) {
			try {
				// What Spring tools do with the header: Kafka's own parser of the type's name.
				TimestampType type = TimestampType.forName(timestampType);
				System.out.println("DEAD-LETTER topic=" + topic + " partition=" + partition + " offset=" + offset
						+ " timestamp=" + timestamp + " timestamp-type=" + type.name() + " group=" + group
						+ " exception=" + exceptionClass + " message=" + exceptionMessage);
			}
			catch (Exception e) {
				fail("dead-letter listener", e);
			}
			deadLetters.countDown();
		}

		/**
		 * The group's Spring service: handles and commits (MANUAL_IMMEDIATE: a synchronous commit
		 * on acknowledge) the first n records, then leaves the rest uncommitted to its successor.
		 */
		@KafkaListener(topics = "${interop.consume-topic:unused.consume}", groupId = "${interop.group}",
				containerFactory = "acknowledgingFactory", autoStartup = "${interop.consume-topic.start}")
		public void onOrder(OrderCompleted order, @Header(KafkaHeaders.RECEIVED_TOPIC) String topic,
				@Header(KafkaHeaders.RECEIVED_PARTITION) int partition, @Header(KafkaHeaders.OFFSET) long offset,
				Acknowledgment acknowledgment) {
			if (toCommit.getCount() == 0) {
				return;  // past n: not handled, not committed
			}
			acknowledgment.acknowledge();
			System.out.println("CONSUMED " + order.items().get(0).productId() + " " + topic + " " + partition + " "
					+ offset);
			toCommit.countDown();
		}

		/** A record Spring cannot hand to the listener (a header it cannot convert): reported, not retried. */
		static DefaultErrorHandler reportingErrorHandler(Runnable countDown) {
			return new DefaultErrorHandler((record, e) -> {
				fail("record " + record.topic() + "/" + record.partition() + "/" + record.offset(), e);
				countDown.run();
			}, new FixedBackOff(0, 0));
		}

		static void fail(String where, Exception e) {
			failed = true;
			System.out.println("FAILED " + where + ": " + e);
		}

	}

}
