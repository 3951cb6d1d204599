import { CRON } from "../../cron/schedules";
import { registerCronJob } from "../../cron/jobs";
import { registerConsumer } from "../../queues/consumers";
import { QueueName } from "../../queues/messages";
import { deliverNotification } from "./notifications.consumer";
import { enqueueDueNotifications } from "./notifications.cron";

registerConsumer(QueueName.notifications, deliverNotification);
registerConsumer(QueueName.notificationsDeadLetter, deliverNotification);
registerCronJob(CRON.frequent, { name: "enqueue-due-notifications", run: enqueueDueNotifications });
