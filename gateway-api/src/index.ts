export { AppModule } from './app.module';
export { configureApp } from './app.setup';
export { loadConfig, type AppConfig } from './config/config.schema';
