// Every table, one module per domain. Features add their own file and export it here.
export * from "./auth";
export * from "./wallet";
export * from "./notifications";
export * from "./vouchers";
export * from "./customers";
export * from "./gift-cards";
export * from "./offers";
export * from "./background";
export * from "./trust";
