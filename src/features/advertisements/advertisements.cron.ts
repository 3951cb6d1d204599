import { registerCronJob } from "../../cron/jobs";
import { CRON } from "../../cron/schedules";
import { deactivateEndedAdvertisements } from "./advertisements.service";

registerCronJob(CRON.frequent, { name: "end-advertisements", run: (env, at) => deactivateEndedAdvertisements(env, at) });
